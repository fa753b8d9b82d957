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

  # State lives in the bucket infra/envs/bootstrap creates; S3-native locking (use_lockfile) replaces
  # the DynamoDB lock table. TODO(fork): replace the bucket name with bootstrap's state_bucket output.
  backend "s3" {
    bucket       = "example-org-aip-tfstate"
    key          = "envs/prod/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    kms_key_id   = "arn:aws:kms:eu-west-1:123456789012:alias/s3/example-org-aip-tfstate" # TODO(fork): bootstrap's state_kms_key_arn
    use_lockfile = true
  }
}
