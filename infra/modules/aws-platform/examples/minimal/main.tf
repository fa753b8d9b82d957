# The smallest useful environment: one NAT gateway, a two-node CPU pool, a spot GPU pool that scales
# to zero, a single-AZ database. infra/envs/dev is this plus a backend.
provider "aws" {
  region = "eu-west-1"

  default_tags {
    tags = local.tags
  }
}

provider "kubernetes" {
  config_path = "~/.kube/config"
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

module "platform" {
  source = "../../"

  environment          = "dev"
  repository           = "fixture-org/ai-platform"
  tags                 = local.tags
  vpc_cidr             = "10.10.0.0/16"
  azs                  = ["eu-west-1a", "eu-west-1b"]
  single_nat_gateway   = true
  host_registry        = true
  artifact_bucket_name = "aip-example-ml-artifacts"
  dvc_bucket_name      = "aip-example-ml-data"
  cpu_pool             = { instance_types = ["m6i.large"], min_size = 1, max_size = 3 }
  gpu_pool             = { instance_types = ["g5.xlarge"], min_size = 0, max_size = 1, spot = true }
  mlflow_db = {
    instance_class        = "db.t4g.micro"
    multi_az              = false
    backup_retention_days = 7
    deletion_protection   = false
  }
  dashboards_path        = "${path.module}/../../../monitoring/examples/complete/dashboards"
  gpu_runners            = { arc_max_runners = 1 }
  state_bucket           = "aip-example-tfstate"
  platform_releases_file = "${path.module}/../../../../k8s/platform/releases.yaml"
  budget                 = { limit_usd = 1000, subscriber_emails = ["platform-team@example.org"] }
  feature_store          = { node_type = "cache.t4g.micro", replicas = 0, multi_az = false }
  study_store            = { create = true, deletion_protection = false }
}

output "cluster_name" {
  description = "Cluster of the example environment."
  value       = module.platform.cluster_name
}
