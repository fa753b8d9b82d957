# Applied once per AWS account, before any environment: the Terraform state bucket (KMS, versioning,
# access logs, public access blocked), the account-wide S3 public access block, the GitHub Actions
# OIDC provider with the read-only plan role, the break-glass admin role, and the cost-allocation tags.
module "context" {
  source = "../../modules/context"

  # The shared account-level resources are booked to prod: they outlive every environment.
  environment = "prod"
  owner       = local.owner
  cost_center = local.cost_center
  repository  = local.repository
  tags        = { scope = "account" }
}

data "aws_caller_identity" "current" {}

locals {
  account_id   = data.aws_caller_identity.current.account_id
  state_bucket = "${local.org}-aip-tfstate" # aip render writes the environments' backend.tf with this name
}

resource "aws_s3_account_public_access_block" "this" {
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

module "state" {
  source = "../../modules/object-storage"

  bucket = local.state_bucket
  # State history matters: keep non-current versions for a year.
  noncurrent_version_expiration_days = 365
  intelligent_tiering_after_days     = 0
  tags                               = module.context.tags
}

# infra.yml's plan jobs (AWS_PLAN_ROLE_ARN): on pull requests, and on pushes to the environment
# branches, where the saved plan is what the gated apply job applies. Reads everything, writes
# nothing, so it plans with `-lock=false`; it reaches each private cluster API through the SSM tunnel.
module "github_oidc" {
  source = "../../modules/github-oidc"

  repository  = local.repository
  name_prefix = var.name
  roles = {
    plan = {
      pull_request = true
      branches     = [for env in keys(local.platform.environments) : "env/${env}" if env != "local"]
      policy_arns  = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
      statements = [
        {
          sid       = "ReadState"
          actions   = ["s3:GetObject", "s3:ListBucket"]
          resources = ["arn:aws:s3:::${local.state_bucket}", "arn:aws:s3:::${local.state_bucket}/*"]
        },
        {
          sid        = "DecryptState"
          actions    = ["kms:Decrypt"]
          resources  = ["arn:aws:kms:${local.region}:${local.account_id}:key/*"]
          conditions = [{ test = "ForAnyValue:StringEquals", variable = "kms:ResourceAliases", values = ["alias/s3/${local.state_bucket}"] }]
        },
        {
          sid        = "StartApiTunnel"
          actions    = ["ssm:StartSession"]
          resources  = ["arn:aws:ec2:${local.region}:${local.account_id}:instance/*"]
          conditions = [{ test = "StringLike", variable = "ssm:resourceTag/aip-eks-tunnel", values = ["${var.name}-*"] }]
        },
        {
          sid       = "UsePortForwardDocument"
          actions   = ["ssm:StartSession"]
          resources = ["arn:aws:ssm:${local.region}::document/AWS-StartPortForwardingSessionToRemoteHost"]
        },
        {
          sid       = "EndOwnSessions"
          actions   = ["ssm:TerminateSession"]
          resources = ["arn:aws:ssm:${local.region}:${local.account_id}:session/$${aws:userid}-*"]
        },
      ]
      deny_statements = [
        {
          sid       = "NeverWriteState"
          actions   = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
          resources = ["arn:aws:s3:::${local.state_bucket}/*"]
        },
      ]
    }
  }
  tags = module.context.tags
}

# Break-glass cluster admin: each environment's cluster has an access entry for this role (by name).
# Only the named people, signed in with MFA in the last hour, can assume it; every use is in
# CloudTrail. Use it when CI's apply role or the tunnel is broken, never for routine work.
data "aws_iam_policy_document" "break_glass_trust" {
  statement {
    sid     = "NamedPeopleWithMfa"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${local.account_id}:root"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = local.break_glass_principal_arns
    }
    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
    condition {
      test     = "NumericLessThan"
      variable = "aws:MultiFactorAuthAge"
      values   = ["3600"]
    }
  }
}

resource "aws_iam_role" "break_glass" {
  name                 = "${var.name}-break-glass"
  description          = "Break-glass EKS cluster admin (access entries in every environment); MFA and named people only."
  assume_role_policy   = data.aws_iam_policy_document.break_glass_trust.json
  max_session_duration = 3600
  tags                 = module.context.tags
}

resource "aws_iam_role_policy" "break_glass" {
  name = "eks-access"
  role = aws_iam_role.break_glass.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "DescribeClusters"
      Effect   = "Allow"
      Action   = ["eks:DescribeCluster", "eks:ListClusters"]
      Resource = "arn:aws:eks:${local.region}:${local.account_id}:cluster/${var.name}-*"
    }]
  })
}

# Cost Explorer and the environments' budgets (modules/budgets) filter by these tags only once they
# are active cost-allocation tags, an account-wide setting.
resource "aws_ce_cost_allocation_tag" "this" {
  for_each = toset(module.context.required_tag_keys)

  tag_key = each.value
  status  = "Active"
}

# Account-wide audit (ADR 0016): one multi-region CloudTrail and one GuardDuty detector per account,
# so here, not in the per-environment roots that share the account.
module "audit" {
  source = "../../modules/audit"

  name                  = var.name
  bucket                = "${local.org}-aip-cloudtrail"
  alert_email_addresses = var.security_alert_emails
  tags                  = module.context.tags
}
