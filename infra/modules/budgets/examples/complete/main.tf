# A dev budget of 1,500 USD a month with the default 50/80/100 % alerts.
provider "aws" {
  region = "us-east-1"

  default_tags {
    tags = local.tags
  }
}

locals {
  tags = {
    owner         = "platform-team"
    environment   = "dev"
    "cost-center" = "ml-platform"
  }
}

module "budgets" {
  source = "../../"

  name              = "aip-dev"
  environment       = "dev"
  limit_usd         = 1500
  subscriber_emails = ["platform-team@example.org"]
  tags              = local.tags
}

output "budget_name" {
  description = "Name of the example budget."
  value       = module.budgets.budget_name
}
