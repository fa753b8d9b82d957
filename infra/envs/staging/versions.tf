terraform {
  required_version = ">= 1.11"

  # Exact versions, matching the committed .terraform.lock.hcl (hashes: see infra/README.md).

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.20.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "3.0.2"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "2.38.0"
    }
  }

  # The S3 backend (state bucket, key, lock) is backend.tf, rendered by aip render from platform.yaml.
}
