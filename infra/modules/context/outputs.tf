output "id" {
  description = "Name prefix for resources of this environment, e.g. `aip-dev`."
  value       = try(local.id, null)
}

output "environment" {
  description = "The validated environment name."
  value       = try(var.environment, null)
}

output "tags" {
  description = "Tags for every taggable resource: the required owner, environment and cost-center plus extras."
  value       = try(local.this, null)
}

output "required_tag_keys" {
  description = "Keys every taggable resource must carry (enforced by infra/policies and infra/compliance)."
  value       = try(sort(keys(local.required_tags)), null)
}
