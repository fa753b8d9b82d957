# The log store of one environment: the KMS-encrypted group and the Fluent Bit role.
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

module "log_store" {
  source = "../../"

  name              = "aip"
  environment       = "dev"
  oidc_provider_arn = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
  oidc_issuer       = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
  tags              = local.tags
}

output "log_group_name" {
  description = "Group Fluent Bit writes to."
  value       = module.log_store.log_group_name
}
