# Account-wide security monitoring, applied once per AWS account (infra/envs/bootstrap), never per
# environment: a CloudTrail trail in every region with log file validation into a KMS-encrypted bucket,
# a GuardDuty detector with EKS audit-log and runtime monitoring (it watches every cluster in the
# account), and an EventBridge rule that sends findings at or above a severity to an encrypted SNS
# topic. CloudTrail and GuardDuty are account/region singletons: one root owns them, so two
# environments in one account cannot fight over them (docs/adr/0016-service-secrets-runners-and-audit.md).
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  create     = var.create
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region
  trail_name = "${var.name}-trail"
  # Built from names so the bucket and key policies can name the trail before it exists.
  trail_arn       = "arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:trail/${local.trail_name}"
  bucket_arn      = "arn:${local.partition}:s3:::${var.bucket}"
  findings_rule   = "${var.name}-guardduty-findings"
  findings_rule_a = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.findings_rule}"
}

################################################################################
# KMS key: trail logs and the alerts topic
################################################################################

resource "aws_kms_key" "this" {
  count = local.create ? 1 : 0

  description             = "Encrypts the CloudTrail logs and security alerts of account ${local.account_id}"
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
        Sid       = "CloudTrailEncryptsLogs"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = "kms:GenerateDataKey*"
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceArn" = local.trail_arn }
          StringLike   = { "kms:EncryptionContext:aws:cloudtrail:arn" = "arn:${local.partition}:cloudtrail:*:${local.account_id}:trail/*" }
        }
      },
      {
        Sid       = "CloudTrailDescribesKey"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = "kms:DescribeKey"
        Resource  = "*"
      },
      {
        # EventBridge publishes findings to the encrypted topic.
        Sid       = "EventBridgePublishesAlerts"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
    ]
  })
  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create ? 1 : 0

  name          = "alias/${var.name}-audit"
  target_key_id = aws_kms_key.this[0].key_id
}

################################################################################
# CloudTrail into the object-storage module's bucket (versioned, access-logged, TLS and CMK only)
################################################################################

data "aws_iam_policy_document" "trail_delivery" {
  statement {
    sid       = "CloudTrailChecksBucketAcl"
    actions   = ["s3:GetBucketAcl"]
    resources = [local.bucket_arn]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "CloudTrailWritesLogs"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arn}/AWSLogs/${local.account_id}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-acl"
      values   = ["bucket-owner-full-control"]
    }
  }
}

module "bucket" {
  source = "../object-storage"

  create                             = local.create
  bucket                             = var.bucket
  create_kms_key                     = false
  kms_key_arn                        = try(aws_kms_key.this[0].arn, null)
  policy_documents                   = [data.aws_iam_policy_document.trail_delivery.json]
  noncurrent_version_expiration_days = var.log_retention_days
  intelligent_tiering_after_days     = 30
  log_retention_days                 = var.log_retention_days
  force_destroy                      = false
  tags                               = var.tags
}

resource "aws_cloudtrail" "this" {
  #checkov:skip=CKV_AWS_252:Trail delivery notifications are not consumed; GuardDuty findings reach the alerts topic instead.
  #checkov:skip=CKV2_AWS_10:No CloudWatch Logs copy: GuardDuty analyses the management events itself and the bucket is the validated archive (saves $0.50/GB ingestion).
  count = local.create ? 1 : 0

  name                          = local.trail_name
  s3_bucket_name                = module.bucket.bucket_id
  kms_key_id                    = aws_kms_key.this[0].arn
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  tags                          = var.tags

  depends_on = [module.bucket]
}

################################################################################
# GuardDuty with EKS audit-log and runtime monitoring
################################################################################

resource "aws_guardduty_detector" "this" {
  #checkov:skip=CKV2_AWS_3:Single-account template: no AWS Organization to delegate GuardDuty administration to (TODO(fork) with Organizations).
  count = local.create ? 1 : 0

  enable                       = true
  finding_publishing_frequency = var.finding_publishing_frequency
  tags                         = var.tags
}

resource "aws_guardduty_detector_feature" "eks_audit_logs" {
  count = local.create ? 1 : 0

  detector_id = aws_guardduty_detector.this[0].id
  name        = "EKS_AUDIT_LOGS"
  status      = "ENABLED"
}

resource "aws_guardduty_detector_feature" "runtime_monitoring" {
  count = local.create ? 1 : 0

  # GuardDuty installs and updates its security agent add-on on every EKS cluster of the account; a
  # cluster tagged GuardDutyManaged=false is left out (cost per vCPU-hour of monitored nodes).
  detector_id = aws_guardduty_detector.this[0].id
  name        = "RUNTIME_MONITORING"
  status      = var.enable_runtime_monitoring ? "ENABLED" : "DISABLED"

  additional_configuration {
    name   = "EKS_ADDON_MANAGEMENT"
    status = var.enable_runtime_monitoring ? "ENABLED" : "DISABLED"
  }
}

resource "aws_guardduty_detector_feature" "s3_data_events" {
  count = local.create ? 1 : 0

  # Object-level access to the model and data buckets (exfiltration, unusual callers).
  detector_id = aws_guardduty_detector.this[0].id
  name        = "S3_DATA_EVENTS"
  status      = var.enable_s3_protection ? "ENABLED" : "DISABLED"
}

################################################################################
# Findings -> EventBridge -> SNS
################################################################################

resource "aws_sns_topic" "alerts" {
  count = local.create ? 1 : 0

  name              = "${var.name}-security-alerts"
  kms_master_key_id = aws_kms_key.this[0].arn
  tags              = var.tags
}

data "aws_iam_policy_document" "alerts" {
  count = local.create ? 1 : 0

  statement {
    sid       = "EventBridgePublishesFindings"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts[0].arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.findings_rule_a]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  count = local.create ? 1 : 0

  arn    = aws_sns_topic.alerts[0].arn
  policy = data.aws_iam_policy_document.alerts[0].json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = local.create ? toset(var.alert_email_addresses) : toset([])

  # Each address confirms by the link AWS mails it; unconfirmed subscriptions receive nothing.
  topic_arn = aws_sns_topic.alerts[0].arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_event_rule" "findings" {
  count = local.create ? 1 : 0

  name        = local.findings_rule
  description = "GuardDuty findings of severity ${var.min_finding_severity} or more"
  event_pattern = jsonencode({
    source        = ["aws.guardduty"]
    "detail-type" = ["GuardDuty Finding"]
    detail        = { severity = [{ numeric = [">=", var.min_finding_severity] }] }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "findings" {
  count = local.create ? 1 : 0

  rule      = aws_cloudwatch_event_rule.findings[0].name
  target_id = "security-alerts"
  arn       = aws_sns_topic.alerts[0].arn
}
