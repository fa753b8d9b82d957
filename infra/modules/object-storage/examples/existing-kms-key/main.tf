# A second bucket that shares a KMS key and a log bucket created elsewhere (the DVC remote next to the
# MLflow artifact bucket).
provider "aws" {
  region = "eu-west-1"

  default_tags {
    tags = local.tags
  }
}

locals {
  tags = {
    owner         = "platform-team"
    environment   = "dev"
    "cost-center" = "ml-platform"
  }
}

module "artifacts" {
  source = "../../"

  bucket = "aip-example-artifacts"
  tags   = local.tags
}

module "dvc" {
  source = "../../"

  bucket                = "aip-example-dvc"
  create_kms_key        = false
  kms_key_arn           = module.artifacts.kms_key_arn
  create_log_bucket     = false
  logging_target_bucket = module.artifacts.log_bucket_id
  tags                  = local.tags
}

output "dvc_remote" {
  description = "URI of the DVC remote bucket."
  value       = module.dvc.bucket_uri
}
