output "state_bucket" {
  description = "Bucket for every environment's `backend \"s3\"` block."
  value       = module.state.bucket_id
}

output "state_kms_key_arn" {
  description = "KMS key encrypting the state bucket."
  value       = module.state.kms_key_arn
}

output "github_oidc_provider_arn" {
  description = "The account's GitHub OIDC provider, trusted by the environments' deploy roles."
  value       = module.github_oidc.oidc_provider_arn
}

output "github_plan_role_arn" {
  description = "Repository variable AWS_PLAN_ROLE_ARN (infra.yml plan on pull requests; read-only, -lock=false)."
  value       = module.github_oidc.role_arns["plan"]
}

output "break_glass_role_arn" {
  description = "Break-glass cluster admin role (MFA, named principals only)."
  value       = aws_iam_role.break_glass.arn
}

output "security_alerts_topic_arn" {
  description = "SNS topic of GuardDuty findings (subscribe on-call here)."
  value       = module.audit.alerts_topic_arn
}
