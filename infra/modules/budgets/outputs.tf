output "budget_name" {
  description = "Name of the environment's budget."
  value       = try(aws_budgets_budget.this[0].name, null)
}
