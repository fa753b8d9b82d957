# GPU runners: an ARC scale set on the cluster's GPU pool.
provider "aws" {
  region = "eu-west-1"

  default_tags {
    tags = local.tags
  }
}

provider "helm" {
  kubernetes = {
    config_path = "~/.kube/config"
  }
}

locals {
  tags = {
    owner         = "platform-team"
    environment   = "dev"
    "cost-center" = "ml-platform"
  }
}

module "gpu_runners" {
  source = "../../"

  name              = "aip-example"
  github_config_url = "https://github.com/fixture-org/ai-platform"
  arc_max_runners   = 2
  tags              = local.tags
}

output "scale_set_name" {
  description = "runs-on value for GPU jobs."
  value       = module.gpu_runners.scale_set_name
}
