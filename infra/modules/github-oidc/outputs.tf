output "oidc_provider_arn" {
  description = "ARN of the GitHub OIDC provider the roles trust."
  value       = try(local.oidc_provider_arn, null)
}

output "role_arns" {
  description = "Deploy role ARN per environment: put it in the GitHub environment's AWS_ROLE_ARN variable."
  value       = try({ for env, role in aws_iam_role.this : env => role.arn }, null)
}

output "subjects" {
  description = "The exact OIDC subject each role trusts, per environment."
  value       = try({ for env in keys(var.environments) : env => "repo:${var.repository}:environment:${env}" }, null)
}
