# Example and test of the context module: `terraform init -backend=false && terraform plan` run here
# offline in `make infra-check` because the module needs no provider.
module "context" {
  source = "../../"

  environment = "dev"
  owner       = "platform-team"
  cost_center = "ml-platform"
  repository  = "fixture-org/ai-platform"
  tags        = { project = "ai-platform" }
}

output "id" {
  description = "Name prefix computed by the module."
  value       = module.context.id
}

output "tags" {
  description = "Tags computed by the module."
  value       = module.context.tags
}
