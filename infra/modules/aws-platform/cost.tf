# The environment's monthly budget with alerts (module budgets). Cost-allocation tags are activated
# once per account in infra/envs/bootstrap.
module "budgets" {
  source = "../budgets"

  name              = local.id
  environment       = var.environment
  limit_usd         = var.budget.limit_usd
  thresholds        = var.budget.thresholds
  subscriber_emails = var.budget.subscriber_emails
  tags              = var.tags
}
