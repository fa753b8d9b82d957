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
  environments = {
    (var.environment) = {
      policy_arns = var.deploy_policy_arns
      statements = [
        {
          sid       = "ListDataBuckets"
          actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
          resources = [local.artifact_bucket_arn, local.dvc_bucket_arn]
        },
        {
          sid       = "ReadWriteDataObjects"
          actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
          resources = ["${local.artifact_bucket_arn}/*", "${local.dvc_bucket_arn}/*"]
        },
        {
          sid        = "UseDataKey"
          actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
          resources  = ["arn:aws:kms:${data.aws_region.current.region}:${local.account_id}:key/*"]
          conditions = [{ test = "ForAnyValue:StringEquals", variable = "kms:ResourceAliases", values = [local.registry_key_alias] }]
        },
        {
          sid       = "DescribeCluster"
          actions   = ["eks:DescribeCluster"]
          resources = ["arn:aws:eks:${data.aws_region.current.region}:${local.account_id}:cluster/${local.id}"]
        },
      ]
    }
  }
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
  admin_principal_arns   = values(module.github_oidc.role_arns)

  node_pools = {
    cpu = {
      instance_types = var.cpu_pool.instance_types
      min_size       = var.cpu_pool.min_size
      max_size       = var.cpu_pool.max_size
      spot           = var.cpu_pool.spot
    }
  }

  gpu_node_pools = {
    gpu = {
      instance_types = var.gpu_pool.instance_types
      min_size       = var.gpu_pool.min_size
      max_size       = var.gpu_pool.max_size
      spot           = var.gpu_pool.spot
    }
  }

  tags = var.tags
}

module "mlflow" {
  source = "../mlflow"

  create                     = var.host_registry
  name                       = local.id
  environment                = var.environment
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.eks.cluster_security_group_id]
  instance_class             = var.mlflow_db.instance_class
  multi_az                   = var.mlflow_db.multi_az
  backup_retention_days      = var.mlflow_db.backup_retention_days
  deletion_protection        = var.mlflow_db.deletion_protection
  artifact_bucket_arn        = local.artifact_bucket_arn
  artifact_kms_key_arn       = var.host_registry ? module.artifacts.kms_key_arn : ""
  artifact_root              = "s3://${var.artifact_bucket_name}/mlflow"
  oidc_provider_arn          = module.eks.oidc_provider_arn
  oidc_issuer                = module.eks.oidc_issuer
  tags                       = var.tags
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
  tags              = var.tags
}
