# What an environment may cost: a monthly AWS Budget over the resources tagged with its `environment`
# (the tag every resource gets from the context module and the provider's default_tags), with e-mail
# alerts at each threshold of the actual and of the forecast spend. The filter works once `environment`
# is an active cost-allocation tag: account-wide, so infra/envs/bootstrap activates it.
resource "aws_budgets_budget" "this" {
  count = var.create ? 1 : 0

  name         = var.name
  budget_type  = "COST"
  limit_amount = format("%.2f", var.limit_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  cost_filter {
    name   = "TagKeyValue"
    values = ["user:environment$${var.environment}"]
  }

  dynamic "notification" {
    for_each = { for pair in setproduct(var.thresholds, ["ACTUAL", "FORECASTED"]) : "${pair[1]}-${pair[0]}" => pair }
    content {
      comparison_operator        = "GREATER_THAN"
      threshold                  = notification.value[0]
      threshold_type             = "PERCENTAGE"
      notification_type          = notification.value[1]
      subscriber_email_addresses = var.subscriber_emails
    }
  }

  tags = var.tags
}
