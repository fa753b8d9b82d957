# Environment root: staging. Values only; the wiring lives in infra/modules/aws-platform.
module "context" {
  source = "../../modules/context"

  environment = "staging"
  owner       = local.owner
  cost_center = local.cost_center
  repository  = local.repository
}

module "platform" {
  source = "../../modules/aws-platform"

  environment                 = module.context.environment
  repository                  = local.repository
  tags                        = module.context.tags
  vpc_cidr                    = "10.20.0.0/16"
  azs                         = ["${local.region}a", "${local.region}b"]
  single_nat_gateway          = true
  cluster_public_access_cidrs = var.cluster_public_access_cidrs
  cpu_pool                    = { instance_types = ["m6i.large"], min_size = 2, max_size = 4 }
  gpu_pool                    = { instance_types = ["g5.xlarge"], min_size = 0, max_size = 7, spot = true }
  mlflow_db                   = { instance_class = "db.t4g.small", multi_az = false, backup_retention_days = 14, deletion_protection = true }
  # One registry for every environment (platform.yaml): prod hosts MLflow and its buckets.
  host_registry             = false
  artifact_bucket_name      = local.artifact_bucket # platform.yaml's artifact_store
  dvc_bucket_name           = local.dvc_bucket      # platform.yaml's dvc_remote
  force_destroy_buckets     = false
  dashboards_path           = "${path.root}/../../../dashboards/rendered"
  gpu_runners               = { arc_max_runners = 2 }
  state_bucket              = local.state_bucket # infra/envs/bootstrap's state bucket
  platform_releases_file    = "${path.root}/../../k8s/platform/releases.yaml"
  install_platform_releases = var.install_platform_releases
  budget                    = { limit_usd = 2000, subscriber_emails = local.budget_emails }
  # Feast online store (Redis; platform.yaml online_store) and, where the environment tunes, Optuna's studies.
  feature_store = { node_type = "cache.t4g.small", replicas = 1 }
}
