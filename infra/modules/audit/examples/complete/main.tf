# Account-wide audit: what infra/envs/bootstrap applies once per AWS account.
provider "aws" {
  region = "eu-west-1"

  default_tags {
    tags = local.tags
  }
}

locals {
  tags = {
    owner         = "platform-team"
    environment   = "prod"
    "cost-center" = "ml-platform"
  }
}

module "audit" {
  source = "../../"

  name                  = "aip"
  bucket                = "fixture-org-aip-cloudtrail"
  alert_email_addresses = ["security@example.org"]
  tags                  = local.tags
}

output "alerts_topic_arn" {
  description = "Topic receiving GuardDuty findings."
  value       = module.audit.alerts_topic_arn
}
