output "oidc_provider_arn" {
  description = "ARN of the GitHub OIDC provider the roles trust."
  value       = try(local.oidc_provider_arn, null)
}

output "role_arns" {
  description = "Role ARN per key: put each in the GitHub variable its workflow reads (AWS_ROLE_ARN, AWS_PLAN_ROLE_ARN)."
  value       = try({ for key, role in aws_iam_role.this : key => role.arn }, null)
}

output "subjects" {
  description = "The exact OIDC subject each role trusts, per key."
  value       = try(local.subjects, null)
}

output "trusted_subjects" {
  description = "Every OIDC subject each role's trust policy accepts, by role key."
  value       = try(local.trusted, null)
}
