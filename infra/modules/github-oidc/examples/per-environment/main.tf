# Deploy roles per GitHub environment (each trusting only `repo:fixture-org/ai-platform:environment:<env>`)
# and a read-only plan role trusting `repo:fixture-org/ai-platform:pull_request`.
provider "aws" {
  region = "eu-west-1"

  default_tags {
    tags = local.tags
  }
}

locals {
  tags = {
    owner         = "platform-team"
    environment   = "shared"
    "cost-center" = "ml-platform"
  }
  artifacts = "arn:aws:s3:::aip-example-mlflow-artifacts"
  deploy = [
    {
      sid       = "ReadWriteArtifacts"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
      resources = [local.artifacts, "${local.artifacts}/*"]
    },
    {
      sid       = "DescribeCluster"
      actions   = ["eks:DescribeCluster"]
      resources = ["arn:aws:eks:eu-west-1:111122223333:cluster/aip-*"]
    },
  ]
}

module "github_oidc" {
  source = "../../"

  repository = "fixture-org/ai-platform"
  roles = {
    dev-deploy     = { environment = "dev", statements = local.deploy }
    staging-deploy = { environment = "staging", statements = local.deploy }
    prod-deploy    = { environment = "prod", statements = local.deploy, max_session_duration = 3600 }
    plan           = { pull_request = true, policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"] }
  }
  tags = local.tags
}

output "role_arns" {
  description = "Role ARN per key."
  value       = module.github_oidc.role_arns
}
