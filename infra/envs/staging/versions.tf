terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = ">= 3.0, < 4.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.35, < 3.0"
    }
  }

  # State lives in the bucket infra/envs/bootstrap creates; S3-native locking (use_lockfile) replaces
  # the DynamoDB lock table. TODO(fork): replace the bucket name with bootstrap's state_bucket output.
  backend "s3" {
    bucket       = "example-org-aip-tfstate"
    key          = "envs/staging/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
