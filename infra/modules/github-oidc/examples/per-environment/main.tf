# Three deploy roles, one per GitHub environment, each trusting only `repo:example-org/ai-platform:environment:<env>`.
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
      resources = ["arn:aws:eks:eu-west-1:123456789012:cluster/aip-*"]
    },
  ]
}

module "github_oidc" {
  source = "../../"

  repository = "example-org/ai-platform"
  environments = {
    dev     = { statements = local.deploy }
    staging = { statements = local.deploy }
    prod    = { statements = local.deploy, max_session_duration = 3600 }
  }
  tags = local.tags
}

output "role_arns" {
  description = "Deploy role per environment."
  value       = module.github_oidc.role_arns
}
