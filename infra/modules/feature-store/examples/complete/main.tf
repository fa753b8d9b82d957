# The Feast online store of a prod-like environment: a primary and two replicas over zones.
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

module "feature_store" {
  source = "../../"

  name                    = "aip-example"
  environment             = "prod"
  vpc_id                  = "vpc-0123456789abcdef0"
  subnet_ids              = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  allowed_security_groups = { cluster = "sg-0123456789abcdef0" }
  node_type               = "cache.m7g.large"
  replicas                = 2
  snapshot_retention_days = 7
  tags                    = local.tags
}

output "primary_endpoint" {
  description = "Host name of the example store's primary."
  value       = module.feature_store.primary_endpoint
}
