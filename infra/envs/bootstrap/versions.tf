terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
  }

  # Bootstrap starts on local state (the bucket does not exist yet). After the first apply, uncomment
  # this block and run `terraform init -migrate-state` so the bootstrap state lives in its own bucket.
  # backend "s3" {
  #   bucket       = "example-org-aip-tfstate"
  #   key          = "bootstrap/terraform.tfstate"
  #   region       = "eu-west-1"
  #   encrypt      = true
  #   use_lockfile = true
  # }
}
