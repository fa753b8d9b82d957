# GitHub Actions OIDC: one deploy role per GitHub environment. The trust policy pins the audience to
# sts.amazonaws.com and the subject to exactly `repo:ORG/REPO:environment:ENV`, so only a job of this
# repository running in that GitHub environment (with its protection rules and approvals) can assume
# the role: no branch, pull request or fork of the repository can.
locals {
  create            = var.create
  github_host       = "token.actions.githubusercontent.com"
  oidc_provider_arn = var.create_oidc_provider ? try(aws_iam_openid_connect_provider.this[0].arn, null) : var.oidc_provider_arn
}

resource "aws_iam_openid_connect_provider" "this" {
  count = local.create && var.create_oidc_provider ? 1 : 0

  url            = "https://${local.github_host}"
  client_id_list = ["sts.amazonaws.com"]
  # IAM verifies GitHub's certificate through its own trust store; the thumbprint is legacy.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1"]
  tags            = var.tags
}

data "aws_iam_policy_document" "trust" {
  for_each = local.create ? var.environments : {}

  statement {
    sid     = "GitHubEnvironment${title(each.key)}"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_host}:sub"
      values   = ["repo:${var.repository}:environment:${each.key}"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.create ? var.environments : {}

  name                 = "${var.name_prefix}-${each.key}-github-deploy"
  description          = "Assumed by ${var.repository} jobs in GitHub environment ${each.key} (OIDC)."
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = each.value.max_session_duration
  tags                 = merge(var.tags, { "github-environment" = each.key })
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = local.create ? {
    for pair in flatten([
      for env, cfg in var.environments : [for arn in cfg.policy_arns : { key = "${env}:${arn}", env = env, arn = arn }]
    ]) : pair.key => pair
  } : {}

  role       = aws_iam_role.this[each.value.env].name
  policy_arn = each.value.arn
}

data "aws_iam_policy_document" "inline" {
  for_each = local.create ? { for env, cfg in var.environments : env => cfg if length(cfg.statements) > 0 } : {}

  dynamic "statement" {
    for_each = each.value.statements
    content {
      sid       = statement.value.sid
      effect    = "Allow"
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = data.aws_iam_policy_document.inline

  name   = "deploy"
  role   = aws_iam_role.this[each.key].id
  policy = each.value.json
}
