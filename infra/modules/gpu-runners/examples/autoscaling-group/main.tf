# GPU runners: an autoscaling group of spot GPU VMs that run the Ansible playbook on themselves at boot.
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

  name                        = "aip-example"
  github_config_url           = "https://github.com/fixture-org/ai-platform"
  enable_arc                  = false
  enable_nvidia_device_plugin = false
  create_asg                  = true
  asg_ami_id                  = "ami-0123456789abcdef0"
  asg_bootstrap_ref           = "v1.0.0"
  asg_github_token_secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:aip-example/github-runner-token-AbCdEf"
  asg_spot                    = true
  vpc_id                      = "vpc-0123456789abcdef0"
  subnet_ids                  = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  tags                        = local.tags
}

output "asg_name" {
  description = "Autoscaling group of the GPU VMs."
  value       = module.gpu_runners.asg_name
}
