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
