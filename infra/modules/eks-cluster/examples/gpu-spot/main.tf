# A cluster with an on-demand CPU pool and a spot GPU pool that scales to zero.
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

module "eks" {
  source = "../../"

  name       = "aip-example"
  vpc_id     = "vpc-0123456789abcdef0"
  subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]

  node_pools = {
    system = {
      instance_types = ["m6i.large"]
      min_size       = 2
      max_size       = 4
    }
  }

  gpu_node_pools = {
    gpu = {
      instance_types = ["g5.xlarge", "g6.xlarge"]
      min_size       = 0
      max_size       = 2
      spot           = true
    }
  }

  tags = local.tags
}

output "cluster_name" {
  description = "Name of the example cluster."
  value       = module.eks.cluster_name
}
