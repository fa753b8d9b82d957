# A two-zone VPC with one NAT gateway, as the dev environment uses.
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

module "network" {
  source = "../../"

  name               = "aip-example"
  azs                = ["eu-west-1a", "eu-west-1b"]
  public_subnets     = ["10.0.0.0/20", "10.0.16.0/20"]
  private_subnets    = ["10.0.64.0/18", "10.0.128.0/18"]
  cluster_name       = "aip-example"
  single_nat_gateway = true
  tags               = local.tags
}

output "private_subnet_ids" {
  description = "Private subnets of the example VPC."
  value       = module.network.private_subnet_ids
}
