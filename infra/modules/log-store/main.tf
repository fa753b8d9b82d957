# The central store for the ECS-format JSON logs the platform writes to stdout (pipelines' logging,
# the model server): one KMS-encrypted CloudWatch Logs group per environment with a retention, and the
# IRSA role a Fluent Bit DaemonSet assumes to ship every container's log lines into it. CloudWatch is
# the default backend (no cluster to run, pay per GB); docs/adr/0016-service-secrets-runners-and-audit.md
# says why OpenSearch is not built yet.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  create         = var.create
  log_group_name = "/${var.name}/${var.environment}/containers"
  account_id     = data.aws_caller_identity.current.account_id
  partition      = data.aws_partition.current.partition
  region         = data.aws_region.current.region
  # Built from names, not from the group's attribute, so the key policy can exist before the group.
  log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"
}

resource "aws_kms_key" "this" {
  count = local.create ? 1 : 0

  description             = "Encrypts the log group ${local.log_group_name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # CloudWatch Logs encrypts with the key on the group's behalf, for this one group only.
        Sid       = "CloudWatchLogsUsesKey"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
        Resource  = "*"
        Condition = { ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = local.log_group_arn } }
      },
    ]
  })
  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create ? 1 : 0

  name          = "alias/logs/${var.name}-${var.environment}-containers"
  target_key_id = aws_kms_key.this[0].key_id
}

resource "aws_cloudwatch_log_group" "this" {
  count = local.create ? 1 : 0

  name              = local.log_group_name
  retention_in_days = var.retention_in_days
  kms_key_id        = aws_kms_key.this[0].arn
  tags              = var.tags
}

################################################################################
# IRSA role of the Fluent Bit DaemonSet
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.shipper_namespace}:${var.shipper_service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "shipper" {
  count = local.create ? 1 : 0

  name_prefix        = "${var.name}-${var.environment}-fluent-bit-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "shipper" {
  count = local.create ? 1 : 0

  # The group exists (Terraform owns it and its retention); Fluent Bit only adds streams and events.
  statement {
    sid       = "WriteContainerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [aws_cloudwatch_log_group.this[0].arn, "${aws_cloudwatch_log_group.this[0].arn}:*"]
  }
}

resource "aws_iam_role_policy" "shipper" {
  count = local.create ? 1 : 0

  name   = "fluent-bit-cloudwatch"
  role   = aws_iam_role.shipper[0].id
  policy = data.aws_iam_policy_document.shipper[0].json
}
