# One environment of the platform on AWS: every module wired together. The environment roots in
# infra/envs/<env>/ call this with their values only; a second cloud would get a sibling
# (infra/modules/gcp-platform) with the same inputs.
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  id         = "${var.name}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  # VPC: /20 public subnets and /18 private subnets carved from the environment's /16.
  public_subnets  = [for i, _ in var.azs : cidrsubnet(var.vpc_cidr, 4, i)]
  private_subnets = [for i, _ in var.azs : cidrsubnet(var.vpc_cidr, 2, i + 1)]
  # The registry's buckets are shared by every environment (train once, promote the same artifact);
  # the hosting environment creates them, the others get access by name.
  artifact_bucket_arn = "arn:aws:s3:::${var.artifact_bucket_name}"
  dvc_bucket_arn      = "arn:aws:s3:::${var.dvc_bucket_name}"
  # The bucket key is granted by its alias, so environments can be applied before the registry exists
  # (same account; TODO(fork): with one account per environment also grant the key and buckets there).
  registry_key_alias = "alias/s3/${var.artifact_bucket_name}"
}

module "network" {
  source = "../network"

  name               = local.id
  cidr               = var.vpc_cidr
  azs                = var.azs
  public_subnets     = local.public_subnets
  private_subnets    = local.private_subnets
  cluster_name       = local.id
  single_nat_gateway = var.single_nat_gateway
  tags               = var.tags
}

module "artifacts" {
  source = "../object-storage"

  create        = var.host_registry
  bucket        = var.artifact_bucket_name
  force_destroy = var.force_destroy_buckets
  tags          = var.tags
}

module "dvc" {
  source = "../object-storage"

  create                = var.host_registry
  bucket                = var.dvc_bucket_name
  force_destroy         = var.force_destroy_buckets
  create_kms_key        = false
  kms_key_arn           = module.artifacts.kms_key_arn
  create_log_bucket     = false
  logging_target_bucket = module.artifacts.log_bucket_id
  tags                  = var.tags
}

module "github_oidc" {
  source = "../github-oidc"

  create_oidc_provider = false
  oidc_provider_arn    = "arn:aws:iam::${local.account_id}:oidc-provider/token.actions.githubusercontent.com"
  repository           = var.repository
  name_prefix          = var.name
  # Keys are static (never ARNs), so every for_each below them is known at plan time.
  roles = merge({
    "${var.environment}-deploy" = {
      environment     = var.environment
      policy_arns     = var.deploy_policy_arns
      statements      = local.deploy_statements
      deny_statements = local.deny_prod_writes
    }
    "${var.environment}-apply" = {
      environment     = "infra-${var.environment}"
      policy_arns     = ["arn:aws:iam::aws:policy/PowerUserAccess"]
      statements      = local.apply_statements
      deny_statements = concat(local.deny_prod_writes, local.deny_other_states)
    }
    "${var.environment}-monitoring" = {
      environment     = "${var.environment}-monitoring"
      statements      = local.monitoring_statements
      deny_statements = local.deny_prod_writes
    }
    }, var.study_store.create ? {
    # Where the environment tunes (tune.yml, GitHub environment `tuning`): read the data, log trials.
    "${var.environment}-tuning" = {
      environment     = "tuning"
      statements      = local.tuning_statements
      deny_statements = local.deny_prod_writes
    }
  } : {})
  tags = var.tags
}

module "eks" {
  source = "../eks-cluster"

  name                   = local.id
  kubernetes_version     = var.kubernetes_version
  vpc_id                 = module.network.vpc_id
  subnet_ids             = module.network.private_subnet_ids
  endpoint_public_access = length(var.cluster_public_access_cidrs) > 0
  public_access_cidrs    = var.cluster_public_access_cidrs
  access_entries         = local.access_entries
  enable_karpenter       = true

  node_pools = {
    cpu = {
      instance_types = var.cpu_pool.instance_types
      min_size       = var.cpu_pool.min_size
      max_size       = var.cpu_pool.max_size
      spot           = var.cpu_pool.spot
    }
  }

  # GPU capacity comes from Karpenter's GPU NodePool (infra/k8s/platform), sized by var.gpu_pool; a
  # managed GPU node group would sit at min_size with nothing to scale it.
  gpu_node_pools = {}

  tags = var.tags
}

module "mlflow" {
  source = "../mlflow"

  create                  = var.host_registry
  name                    = local.id
  environment             = var.environment
  vpc_id                  = module.network.vpc_id
  subnet_ids              = module.network.private_subnet_ids
  allowed_security_groups = { cluster = module.eks.cluster_security_group_id }
  instance_class          = var.mlflow_db.instance_class
  multi_az                = var.mlflow_db.multi_az
  backup_retention_days   = var.mlflow_db.backup_retention_days
  deletion_protection     = var.mlflow_db.deletion_protection
  artifact_bucket_arn     = local.artifact_bucket_arn
  artifact_kms_key_arn    = var.host_registry ? module.artifacts.kms_key_arn : ""
  artifact_root           = "s3://${var.artifact_bucket_name}/mlflow"
  oidc_provider_arn       = module.eks.oidc_provider_arn
  oidc_issuer             = module.eks.oidc_issuer
  tags                    = var.tags
}

module "monitoring" {
  source = "../monitoring"

  environment       = var.environment
  dashboards_path   = var.dashboards_path
  gpu_node_selector = module.eks.gpu_node_selector
  gpu_toleration    = module.eks.gpu_toleration
}

module "gpu_runners" {
  source = "../gpu-runners"

  name              = local.id
  github_config_url = "https://github.com/${var.repository}"
  arc_max_runners   = var.gpu_runners.arc_max_runners
  gpu_node_selector = module.eks.gpu_node_selector
  gpu_toleration    = module.eks.gpu_toleration
  create_asg        = var.gpu_runners.create_asg
  asg_ami_id        = var.gpu_runners.asg_ami_id
  asg_max_size      = var.gpu_runners.asg_max_size
  vpc_id            = module.network.vpc_id
  subnet_ids        = module.network.private_subnet_ids
  # VMs register themselves at boot (user data): the token secret and the ref of infra/ansible to run.
  asg_github_token_secret_arn  = var.gpu_runner_vms.github_token_secret_arn
  asg_github_token_kms_key_arn = var.gpu_runner_vms.github_token_kms_key_arn
  asg_bootstrap_ref            = var.gpu_runner_vms.bootstrap_ref
  tags                         = var.tags
}

# Central logs of the environment: the KMS-encrypted group the Fluent Bit release (releases.yaml)
# ships every container's ECS lines to, and the IRSA role it runs with. Account-wide CloudTrail and
# GuardDuty are not here: they are per account, in infra/envs/bootstrap (infra/modules/audit).
module "log_store" {
  source = "../log-store"

  name              = var.name
  environment       = var.environment
  retention_in_days = var.log_retention_in_days
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer       = module.eks.oidc_issuer
  tags              = var.tags
}

# The Feast online store of the environment (ElastiCache for Redis), reachable from the cluster only:
# platform.yaml's `online_store` points at its primary endpoint; docs/tuning-infra.md.
module "feature_store" {
  source = "../feature-store"

  create                  = var.feature_store.create
  name                    = local.id
  environment             = var.environment
  vpc_id                  = module.network.vpc_id
  subnet_ids              = module.network.private_subnet_ids
  allowed_security_groups = { cluster = module.eks.cluster_security_group_id }
  node_type               = var.feature_store.node_type
  replicas                = var.feature_store.replicas
  multi_az                = var.feature_store.multi_az
  snapshot_retention_days = var.feature_store.snapshot_retention_days
  tags                    = var.tags
}

# Optuna's study storage (a small Postgres) where the environment tunes: many workers, one study.
# platform.yaml's `study_storage` is its `study_storage_url` output; docs/tuning-infra.md.
module "study_store" {
  source = "../study-store"

  create                  = var.study_store.create
  name                    = local.id
  environment             = var.environment
  vpc_id                  = module.network.vpc_id
  subnet_ids              = module.network.private_subnet_ids
  allowed_security_groups = { cluster = module.eks.cluster_security_group_id }
  instance_class          = var.study_store.instance_class
  multi_az                = var.study_store.multi_az
  backup_retention_days   = var.study_store.backup_retention_days
  deletion_protection     = var.study_store.deletion_protection
  tags                    = var.tags
}
