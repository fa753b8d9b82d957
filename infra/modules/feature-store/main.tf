# The Feast online store of one environment: ElastiCache for Redis (a replication group in the private
# subnets), encrypted at rest with a customer-managed KMS key and in transit (TLS), AUTH token required,
# reachable on 6379 only from the security groups the caller names (the EKS cluster's). Feast's
# materialisation writes it (`aip features materialize --env ENV`, .github/workflows/features.yml) and
# the model servers read it; docs/tuning-infra.md.
#
# The AUTH token: ElastiCache has no managed-secret option (unlike RDS's manage_master_user_password),
# so the token is generated once by Secrets Manager (a data source, regenerated on every plan but
# ignored after the first apply) and kept in the secret this module makes, encrypted with the same key;
# the replication group reads it from that secret version. It is therefore in the (KMS-encrypted,
# apply-role-only) state: the one deviation from ADR 0016, recorded in this module's README.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  create     = var.create
  identifier = "${var.name}-features"
  is_prod    = var.environment == "prod"
  # Failover needs a replica; one node (dev) cannot fail over.
  automatic_failover = var.replicas > 0
  kms_key_arn        = var.create_kms_key ? try(aws_kms_key.this[0].arn, null) : var.kms_key_arn
}

resource "aws_kms_key" "this" {
  count = local.create && var.create_kms_key ? 1 : 0

  description         = "Encrypts the Feast online store ${local.identifier}, its snapshots and its AUTH token secret"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministersKey"
      Effect    = "Allow"
      Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
  tags = var.tags
}

data "aws_secretsmanager_random_password" "auth" {
  count = local.create ? 1 : 0

  # ElastiCache AUTH tokens: 16-128 printable characters without @, " or /.
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "auth" {
  #checkov:skip=CKV2_AWS_57:Rotating an ElastiCache AUTH token needs ROTATE then SET on the group and a restart of every client; done by hand (module README runbook)
  count = local.create ? 1 : 0

  name_prefix             = "${local.identifier}-auth-"
  description             = "AUTH token of the Feast online store ${local.identifier} (the password of platform.yaml's online_store)"
  kms_key_id              = local.kms_key_arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "auth" {
  count = local.create ? 1 : 0

  secret_id     = aws_secretsmanager_secret.auth[0].id
  secret_string = data.aws_secretsmanager_random_password.auth[0].random_password

  lifecycle {
    # The data source makes a new value on every plan: only the first one is ever stored.
    ignore_changes = [secret_string]
  }
}

resource "aws_elasticache_subnet_group" "this" {
  count = local.create ? 1 : 0

  name        = local.identifier
  description = "Private subnets of the Feast online store ${local.identifier}"
  subnet_ids  = var.subnet_ids
  tags        = var.tags
}

resource "aws_security_group" "this" {
  count = local.create ? 1 : 0

  name_prefix = "${local.identifier}-"
  description = "Feast online store (Redis): reachable from the cluster only"
  vpc_id      = var.vpc_id
  tags        = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "redis" {
  # Keyed by the caller's static names: the IDs themselves are unknown until the groups exist.
  for_each = local.create ? var.allowed_security_groups : {}

  security_group_id            = aws_security_group.this[0].id
  description                  = "Redis (TLS) from ${each.key}"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  tags                         = var.tags
}

resource "aws_elasticache_replication_group" "this" {
  count = local.create ? 1 : 0

  replication_group_id       = local.identifier
  description                = "Feast online store of ${var.environment}"
  engine                     = "redis"
  engine_version             = var.engine_version
  node_type                  = var.node_type
  num_cache_clusters         = 1 + var.replicas
  automatic_failover_enabled = local.automatic_failover
  multi_az_enabled           = local.automatic_failover && var.multi_az
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.this[0].name
  security_group_ids         = [aws_security_group.this[0].id]
  at_rest_encryption_enabled = true
  kms_key_id                 = local.kms_key_arn
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  auth_token                 = aws_secretsmanager_secret_version.auth[0].secret_string
  auth_token_update_strategy = "ROTATE" # pragma: allowlist secret (a strategy name)
  snapshot_retention_limit   = var.snapshot_retention_days
  snapshot_window            = "02:00-03:00"
  maintenance_window         = "sun:03:30-sun:04:30"
  auto_minor_version_upgrade = true
  apply_immediately          = !local.is_prod
  tags                       = var.tags
}
