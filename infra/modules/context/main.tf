# Naming and tagging context shared by every environment root (after cloudposse's null-label, reduced
# to what this platform needs). The required tags owner, environment and cost-center are validated
# here once, then applied twice: as the AWS provider's default_tags and as each module's `tags`.
locals {
  id = "${var.name}-${var.environment}"

  required_tags = {
    owner         = var.owner
    environment   = var.environment
    "cost-center" = var.cost_center
  }

  this = merge(
    var.tags,
    var.repository == null ? {} : { repository = var.repository },
    { "managed-by" = "terraform" },
    local.required_tags,
  )
}
