# Optuna's study storage in the environment that tunes (dev): one small instance, single zone.
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

module "study_store" {
  source = "../../"

  name                    = "aip-example"
  environment             = "dev"
  vpc_id                  = "vpc-0123456789abcdef0"
  subnet_ids              = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  allowed_security_groups = { cluster = "sg-0123456789abcdef0" }
  deletion_protection     = false
  tags                    = local.tags
}

output "storage_url" {
  description = "platform.yaml's study_storage for the example."
  value       = module.study_store.storage_url
}
