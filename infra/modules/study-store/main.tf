# Optuna's study storage for the environment that tunes: a small encrypted Postgres (RDS) whose database
# `optuna` and login `optuna` RDS itself creates at launch (db_name, username), so no CREATE DATABASE or
# CREATE ROLE step exists anywhere (the AWS provider cannot run SQL; docs/tuning-infra.md). Many tuning
# workers (`aip tune ... --study S`, the matrix of .github/workflows/tune.yml or the Job in
# infra/k8s/tuning) share one study through it. Reachable on 5432 from the named security groups only
# (the EKS cluster's: the ARC GPU runners and the Job's pods), TLS forced.
#
# The password: generated once by Secrets Manager, stored in this module's secret (JSON: username,
# password, host, port, dbname) and given to RDS. A static password (no managed rotation), because CI
# holds it as the GitHub environment secret AIP_STUDY_STORAGE_PASSWORD, and a rotation nobody copies
# would break every tuning run; it is in the (KMS-encrypted, apply-role-only) state. Runbook for a
# rotation by hand: the module README.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  create     = var.create
  identifier = "${var.name}-optuna"
  is_prod    = var.environment == "prod"
  # prod is never deletable by a plain destroy, whatever the caller passes.
  deletion_protection = local.is_prod ? true : var.deletion_protection
  database            = "optuna"
  username            = "optuna"
}

resource "aws_kms_key" "this" {
  count = local.create ? 1 : 0

  description         = "Encrypts the Optuna study database ${local.identifier}, its backups and its login secret"
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

data "aws_secretsmanager_random_password" "login" {
  count = local.create ? 1 : 0

  # RDS refuses /, @, " and spaces in a master password; no punctuation also keeps the URL plain.
  password_length     = 40
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "login" {
  #checkov:skip=CKV2_AWS_57:Static by design: CI holds a copy (AIP_STUDY_STORAGE_PASSWORD); rotated by hand with the module README's runbook
  count = local.create ? 1 : 0

  name_prefix             = "${local.identifier}-login-"
  description             = "Login of the Optuna study database ${local.identifier} (JSON: username, password, host, port, dbname)"
  kms_key_id              = aws_kms_key.this[0].arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "login" {
  count = local.create ? 1 : 0

  secret_id = aws_secretsmanager_secret.login[0].id
  secret_string = jsonencode({ # pragma: allowlist secret (the generated value, not a literal)
    username = local.username
    password = data.aws_secretsmanager_random_password.login[0].random_password
    dbname   = local.database
  })

  lifecycle {
    # The data source makes a new value on every plan: only the first one is ever stored.
    ignore_changes = [secret_string]
  }
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
  description = "Optuna study Postgres: reachable from the cluster only"
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
  description                  = "Postgres from ${each.key}"
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
  description = "Optuna study Postgres: TLS only, statement logging"
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

  name_prefix        = "${var.name}-optuna-mon-"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = local.create ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_157:Multi-AZ is set per environment (var.multi_az): a study is resumable, dev runs single-AZ for cost.
  #checkov:skip=CKV_AWS_293:Deletion protection is forced on in prod (local.deletion_protection); dev/staging studies are disposable.
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
  db_name                             = local.database
  username                            = local.username
  password                            = jsondecode(aws_secretsmanager_secret_version.login[0].secret_string)["password"]
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
