# Environment root: prod. Values only; the wiring lives in infra/modules/aws-platform.
module "context" {
  source = "../../modules/context"

  environment = "prod"
  owner       = local.owner
  cost_center = local.cost_center
  repository  = local.repository
}

module "platform" {
  source = "../../modules/aws-platform"

  environment                 = module.context.environment
  repository                  = local.repository
  tags                        = module.context.tags
  vpc_cidr                    = "10.30.0.0/16"
  azs                         = ["${local.region}a", "${local.region}b", "${local.region}c"]
  single_nat_gateway          = false
  cluster_public_access_cidrs = var.cluster_public_access_cidrs
  cpu_pool                    = { instance_types = ["m6i.xlarge"], min_size = 3, max_size = 6 }
  gpu_pool                    = { instance_types = ["g5.2xlarge"], min_size = 0, max_size = 13 }
  mlflow_db = {
    instance_class        = "db.m7g.large"
    multi_az              = true
    backup_retention_days = 30
    deletion_protection   = true
  }
  # One registry for every environment (platform.yaml): prod hosts MLflow and its buckets.
  host_registry             = true
  artifact_bucket_name      = local.artifact_bucket # platform.yaml's artifact_store
  dvc_bucket_name           = local.dvc_bucket      # platform.yaml's dvc_remote
  force_destroy_buckets     = false
  dashboards_path           = "${path.root}/../../../dashboards/rendered"
  gpu_runners               = { arc_max_runners = 4, create_asg = false }
  state_bucket              = local.state_bucket # infra/envs/bootstrap's state bucket
  platform_releases_file    = "${path.root}/../../k8s/platform/releases.yaml"
  install_platform_releases = var.install_platform_releases
  budget                    = { limit_usd = 8000, subscriber_emails = local.budget_emails }
  # Feast online store (Redis; platform.yaml online_store) and, where the environment tunes, Optuna's studies.
  feature_store = { node_type = "cache.m7g.large", replicas = 2, snapshot_retention_days = 7 }
}
