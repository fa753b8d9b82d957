terraform {
  required_version = ">= 1.11"

  # Exact version, matching the committed .terraform.lock.hcl (hashes: see infra/README.md).

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.20.0"
    }
  }

  # Bootstrap starts on local state (the bucket does not exist yet). After the first apply, uncomment
  # this block and run `terraform init -migrate-state` so the bootstrap state lives in its own bucket.
  # backend "s3" {
  #   bucket       = "<organisation.name>-aip-tfstate"  # state_bucket output
  #   key          = "bootstrap/terraform.tfstate"
  #   region       = "<organisation.region>"
  #   encrypt      = true
  #   kms_key_id   = "<state_kms_key_arn output>" # the bucket's CMK, not SSE-S3
  #   use_lockfile = true
  # }
}
