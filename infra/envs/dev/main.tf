# Environment root: dev. Values only; the wiring lives in infra/modules/aws-platform.
module "context" {
  source = "../../modules/context"

  environment = "dev"
  owner       = var.owner
  cost_center = var.cost_center
  repository  = var.repository
}

module "platform" {
  source = "../../modules/aws-platform"

  environment                 = module.context.environment
  repository                  = var.repository
  tags                        = module.context.tags
  vpc_cidr                    = "10.10.0.0/16"
  azs                         = ["${var.region}a", "${var.region}b"]
  single_nat_gateway          = true
  cluster_public_access_cidrs = var.cluster_public_access_cidrs
  cpu_pool                    = { instance_types = ["m6i.large"], min_size = 1, max_size = 3, spot = true }
  gpu_pool                    = { instance_types = ["g5.xlarge"], min_size = 0, max_size = 1, spot = true }
  mlflow_db                   = { instance_class = "db.t4g.micro", multi_az = false, backup_retention_days = 7, deletion_protection = false }
  # One registry for every environment (platform.yaml): prod hosts MLflow and its buckets.
  host_registry         = false
  artifact_bucket_name  = "example-org-ml-artifacts" # TODO(fork): platform.yaml's artifact_store bucket
  dvc_bucket_name       = "example-org-ml-data"      # TODO(fork): platform.yaml's dvc_remote bucket
  force_destroy_buckets = true
  dashboards_path       = "${path.root}/../../../dashboards/rendered"
  gpu_runners           = { arc_max_runners = 1 }
}
