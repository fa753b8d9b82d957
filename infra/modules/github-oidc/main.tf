# GitHub Actions OIDC: one IAM role per job kind (deploy, infra plan, infra apply, monitoring). The
# trust policy pins the audience to sts.amazonaws.com and the subject to exactly one of
# `repo:ORG/REPO:environment:ENV` (a job running in that GitHub environment, with its protection
# rules and approvals) or `repo:ORG/REPO:pull_request` (the read-only plan role: a pull request from
# this repository; forks get no OIDC token). A pull_request role may also trust pushes to named
# branches (`branches`: infra.yml plans env/<E> on push, and the gated apply job applies that saved
# plan). No other branch or repository can assume any of them.
locals {
  create            = var.create
  github_host       = "token.actions.githubusercontent.com"
  oidc_provider_arn = var.create_oidc_provider ? try(aws_iam_openid_connect_provider.this[0].arn, null) : var.oidc_provider_arn
  subjects = {
    for name, role in var.roles : name => (
      role.pull_request ? "repo:${var.repository}:pull_request" : "repo:${var.repository}:environment:${role.environment}"
    )
  }
  trusted = {
    for name, role in var.roles : name => concat(
      [local.subjects[name]], [for branch in role.branches : "repo:${var.repository}:ref:refs/heads/${branch}"]
    )
  }
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
  for_each = local.create ? var.roles : {}

  statement {
    sid     = "GitHubOidc"
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
      values   = [local.subjects[each.key]]
    }
  }

  # A read-only role's pushes to named branches: a second statement (statements are ORed; two `sub`
  # conditions in one statement would be ANDed and match nothing).
  dynamic "statement" {
    for_each = length(each.value.branches) > 0 ? [each.value.branches] : []
    content {
      sid     = "GitHubOidcBranchPushes"
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
        values   = [for branch in statement.value : "repo:${var.repository}:ref:refs/heads/${branch}"]
      }
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.create ? var.roles : {}

  name                 = "${var.name_prefix}-github-${each.key}"
  description          = "Assumed by ${var.repository} jobs with OIDC subject ${local.subjects[each.key]}."
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = each.value.max_session_duration
  tags                 = merge(var.tags, { "github-subject" = replace(local.subjects[each.key], "/[^A-Za-z0-9 _.:/=+@-]/", "_") })
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = local.create ? {
    for pair in flatten([
      for role, cfg in var.roles : [for arn in cfg.policy_arns : { key = "${role}:${arn}", role = role, arn = arn }]
    ]) : pair.key => pair
  } : {}

  role       = aws_iam_role.this[each.value.role].name
  policy_arn = each.value.arn
}

data "aws_iam_policy_document" "inline" {
  for_each = local.create ? { for role, cfg in var.roles : role => cfg if length(cfg.statements) + length(cfg.deny_statements) > 0 } : {}

  dynamic "statement" {
    for_each = concat(
      [for s in each.value.statements : merge(s, { effect = "Allow" })],
      [for s in each.value.deny_statements : merge(s, { effect = "Deny" })],
    )
    content {
      sid       = statement.value.sid
      effect    = statement.value.effect
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

  name   = "github-${each.key}"
  role   = aws_iam_role.this[each.key].id
  policy = each.value.json
}
