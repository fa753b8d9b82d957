# MLflow tracking backend: an encrypted Postgres (RDS) with automated backups, TLS enforced, and
# deletion protection in prod; an IRSA role that lets the server's service account read and write the
# artifact bucket; and the Kubernetes wiring (namespace, service account, config map, secret) that
# the MLflow Deployment in infra/k8s/mlflow consumes by fixed names. Terraform owns what needs cloud
# outputs; kustomize owns the workload (docs/adr/0006-infrastructure.md).
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  create     = var.create
  identifier = "${var.name}-mlflow"
  is_prod    = var.environment == "prod"
  # prod is never deletable by a plain destroy, whatever the caller passes.
  deletion_protection = local.is_prod ? true : var.deletion_protection
  service_account     = "mlflow"
  wiring              = local.create && var.enable_kubernetes_wiring
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
  for_each = local.create ? toset(var.allowed_security_group_ids) : toset([])

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

  statement {
    sid       = "ReadDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_db_instance.this[0].master_user_secret[0].secret_arn]
  }
}

resource "aws_iam_role_policy" "server" {
  count = local.create ? 1 : 0

  name   = "mlflow-server"
  role   = aws_iam_role.server[0].id
  policy = data.aws_iam_policy_document.server[0].json
}

################################################################################
# Kubernetes wiring consumed by infra/k8s/mlflow
################################################################################

data "aws_secretsmanager_secret_version" "db" {
  count = local.wiring ? 1 : 0

  secret_id = aws_db_instance.this[0].master_user_secret[0].secret_arn
}

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

resource "kubernetes_config_map_v1" "this" {
  count = local.wiring ? 1 : 0

  metadata {
    name      = "mlflow-config"
    namespace = kubernetes_namespace_v1.this[0].metadata[0].name
  }

  data = {
    MLFLOW_ARTIFACTS_DESTINATION = var.artifact_root
    AWS_REGION                   = split(":", var.artifact_kms_key_arn)[3]
  }
}

resource "kubernetes_secret_v1" "this" {
  count = local.wiring ? 1 : 0

  # Connection settings copied from the RDS-managed secret at apply time. They live in the KMS-encrypted
  # state bucket and in a Kubernetes Secret (envelope-encrypted by the cluster's KMS key), never in git.
  # The MLflow Deployment assembles the backend-store URI from these keys (infra/k8s/base/mlflow).
  metadata {
    name      = "mlflow-backend-store"
    namespace = kubernetes_namespace_v1.this[0].metadata[0].name
  }

  data = {
    DB_USER     = jsondecode(data.aws_secretsmanager_secret_version.db[0].secret_string)["username"]
    DB_PASSWORD = urlencode(jsondecode(data.aws_secretsmanager_secret_version.db[0].secret_string)["password"])
    DB_HOST     = aws_db_instance.this[0].address
    DB_PORT     = tostring(aws_db_instance.this[0].port)
    DB_NAME     = aws_db_instance.this[0].db_name
  }
}
