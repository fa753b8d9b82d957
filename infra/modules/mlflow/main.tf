# MLflow tracking backend: an encrypted Postgres (RDS) with automated backups, TLS enforced, and
# deletion protection in prod; an IRSA role that lets the server's service account read and write the
# artifact bucket; and the Kubernetes wiring (namespace, service accounts, config map) that the MLflow
# Deployment in infra/k8s/mlflow consumes by fixed names. Terraform owns what needs cloud outputs;
# kustomize owns the workload (docs/adr/0006-infrastructure.md).
#
# The database password never passes through Terraform: RDS keeps it in Secrets Manager and rotates it
# (manage_master_user_password), and External Secrets Operator copies it into the cluster at run time
# with its own IRSA role that may read exactly that secret (docs/adr/0016-service-secrets-runners-and-audit.md).
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  create     = var.create
  identifier = "${var.name}-mlflow"
  is_prod    = var.environment == "prod"
  # prod is never deletable by a plain destroy, whatever the caller passes.
  deletion_protection = local.is_prod ? true : var.deletion_protection
  service_account     = "mlflow"
  wiring              = local.create && var.enable_kubernetes_wiring
  # The service account External Secrets Operator authenticates as (SecretStore auth.jwt.serviceAccountRef).
  eso_service_account = "mlflow-external-secrets"
  db_secret_arn       = try(aws_db_instance.this[0].master_user_secret[0].secret_arn, null)
}

resource "aws_kms_key" "this" {
  count = local.create ? 1 : 0

  description         = "Encrypts the MLflow database ${local.identifier}, its backups and insights"
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

resource "aws_db_subnet_group" "this" {
  count = local.create ? 1 : 0

  name_prefix = "${local.identifier}-"
  subnet_ids  = var.subnet_ids
  tags        = var.tags
}

resource "aws_security_group" "this" {
  count = local.create ? 1 : 0

  name_prefix = "${local.identifier}-"
  description = "MLflow Postgres: reachable from the cluster nodes only"
  vpc_id      = var.vpc_id
  tags        = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  # Keyed by the caller's static names: the IDs themselves are unknown until the groups exist.
  for_each = local.create ? var.allowed_security_groups : {}

  security_group_id            = aws_security_group.this[0].id
  description                  = "Postgres from cluster nodes"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  tags                         = var.tags
}

resource "aws_db_parameter_group" "this" {
  count = local.create ? 1 : 0

  name_prefix = "${local.identifier}-"
  family      = "postgres${split(".", var.postgres_version)[0]}"
  description = "MLflow Postgres: TLS only, statement logging"
  tags        = var.tags

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  count = local.create ? 1 : 0

  name_prefix        = "${var.name}-rds-mon-"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = local.create ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_157:Multi-AZ is set per environment (var.multi_az: prod true; dev single-AZ for cost).
  #checkov:skip=CKV_AWS_293:Deletion protection is forced on in prod (local.deletion_protection); dev/staging stacks are disposable.
  count = local.create ? 1 : 0

  identifier                          = local.identifier
  engine                              = "postgres"
  engine_version                      = var.postgres_version
  instance_class                      = var.instance_class
  allocated_storage                   = var.allocated_storage_gib
  max_allocated_storage               = var.max_allocated_storage_gib
  storage_type                        = "gp3"
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.this[0].arn
  db_name                             = "mlflow"
  username                            = "mlflow"
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.this[0].arn
  iam_database_authentication_enabled = true
  db_subnet_group_name                = aws_db_subnet_group.this[0].name
  vpc_security_group_ids              = [aws_security_group.this[0].id]
  parameter_group_name                = aws_db_parameter_group.this[0].name
  publicly_accessible                 = false
  multi_az                            = var.multi_az
  backup_retention_period             = var.backup_retention_days
  backup_window                       = "02:00-03:00"
  maintenance_window                  = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot               = true
  deletion_protection                 = local.deletion_protection
  skip_final_snapshot                 = !local.is_prod
  final_snapshot_identifier           = "${local.identifier}-final"
  auto_minor_version_upgrade          = true
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]
  monitoring_interval                 = 60
  monitoring_role_arn                 = aws_iam_role.monitoring[0].arn
  performance_insights_enabled        = true
  performance_insights_kms_key_id     = aws_kms_key.this[0].arn
  tags                                = var.tags

  depends_on = [aws_iam_role_policy_attachment.monitoring]
}

################################################################################
# IRSA role of the MLflow server
################################################################################

data "aws_iam_policy_document" "server_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.kubernetes_namespace}:${local.service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "server" {
  count = local.create ? 1 : 0

  name_prefix        = "${var.name}-mlflow-"
  assume_role_policy = data.aws_iam_policy_document.server_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "server" {
  count = local.create ? 1 : 0

  statement {
    sid       = "ListArtifactBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.artifact_bucket_arn]
  }

  statement {
    sid       = "ReadWriteArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.artifact_bucket_arn}/*"]
  }

  statement {
    sid       = "UseArtifactKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.artifact_kms_key_arn]
  }
}

resource "aws_iam_role_policy" "server" {
  count = local.create ? 1 : 0

  name   = "mlflow-server"
  role   = aws_iam_role.server[0].id
  policy = data.aws_iam_policy_document.server[0].json
}

################################################################################
# IRSA role of External Secrets Operator: reads the RDS-managed secret, nothing else
################################################################################

data "aws_iam_policy_document" "secrets_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.kubernetes_namespace}:${local.eso_service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

# The server's own credentials (infra/k8s/mlflow/externalsecret-auth.yaml, ADR 0019): a JSON secret
# with admin_password (break-glass admin), flask_secret_key (shared by the replicas) and
# metrics_reader_password (Prometheus' read-only login). Terraform makes the container only; an
# operator puts the value once (`aws secretsmanager put-secret-value`), so no password is in state.
resource "aws_secretsmanager_secret" "auth" {
  #checkov:skip=CKV2_AWS_57:Rotation needs a Lambda that also updates MLflow's user table; these are rotated by hand (runbook in infra/k8s/README.md)
  count = local.create ? 1 : 0

  name_prefix             = "${var.name}-mlflow-auth-"
  description             = "MLflow aip-auth: admin_password, flask_secret_key, metrics_reader_password"
  kms_key_id              = aws_kms_key.this[0].arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_iam_role" "secrets" {
  count = local.create ? 1 : 0

  name_prefix        = "${var.name}-mlflow-eso-"
  assume_role_policy = data.aws_iam_policy_document.secrets_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "secrets" {
  count = local.create ? 1 : 0

  statement {
    sid       = "ReadDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [local.db_secret_arn]
  }

  statement {
    sid       = "ReadAuthSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [aws_secretsmanager_secret.auth[0].arn]
  }

  statement {
    sid       = "DecryptDatabaseSecret"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this[0].arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "secrets" {
  count = local.create ? 1 : 0

  name   = "mlflow-db-secret-read"
  role   = aws_iam_role.secrets[0].id
  policy = data.aws_iam_policy_document.secrets[0].json
}

################################################################################
# Kubernetes wiring consumed by infra/k8s/mlflow
################################################################################

resource "kubernetes_namespace_v1" "this" {
  count = local.wiring ? 1 : 0

  metadata {
    name   = var.kubernetes_namespace
    labels = { "app.kubernetes.io/part-of" = "ai-platform" }
  }
}

resource "kubernetes_service_account_v1" "this" {
  count = local.wiring ? 1 : 0

  metadata {
    name        = local.service_account
    namespace   = kubernetes_namespace_v1.this[0].metadata[0].name
    annotations = { "eks.amazonaws.com/role-arn" = aws_iam_role.server[0].arn }
  }
  automount_service_account_token = true
}

resource "kubernetes_service_account_v1" "secrets" {
  count = local.wiring ? 1 : 0

  # No pod runs as this account: ESO requests a token for it to assume the read-only secret role.
  metadata {
    name        = local.eso_service_account
    namespace   = kubernetes_namespace_v1.this[0].metadata[0].name
    annotations = { "eks.amazonaws.com/role-arn" = aws_iam_role.secrets[0].arn }
  }
  automount_service_account_token = false
}

resource "kubernetes_config_map_v1" "this" {
  count = local.wiring ? 1 : 0

  # Non-secret connection settings. The Deployment assembles the backend-store URI from these and the
  # ESO-synced Secret `mlflow-backend-store` (DB_USER, DB_PASSWORD url-encoded):
  # postgresql+psycopg2://$(DB_USER):$(DB_PASSWORD)@$(DB_HOST):$(DB_PORT)/$(DB_NAME)?sslmode=require
  metadata {
    name      = "mlflow-config"
    namespace = kubernetes_namespace_v1.this[0].metadata[0].name
  }

  data = {
    MLFLOW_ARTIFACTS_DESTINATION = var.artifact_root
    AWS_REGION                   = data.aws_region.current.region
    DB_HOST                      = aws_db_instance.this[0].address
    DB_PORT                      = tostring(aws_db_instance.this[0].port)
    DB_NAME                      = aws_db_instance.this[0].db_name
  }
}
