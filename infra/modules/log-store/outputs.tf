output "backend" {
  description = "The log backend in use (`cloudwatch`)."
  value       = try(var.backend, null)
}

output "log_group_name" {
  description = "CloudWatch Logs group receiving the containers' ECS logs (Fluent Bit's cloudwatch_logs `log_group_name`)."
  value       = try(aws_cloudwatch_log_group.this[0].name, null)
}

output "log_group_arn" {
  description = "ARN of the log group."
  value       = try(aws_cloudwatch_log_group.this[0].arn, null)
}

output "kms_key_arn" {
  description = "KMS key encrypting the log group."
  value       = try(aws_kms_key.this[0].arn, null)
}

output "shipper_role_arn" {
  description = "IAM role for the Fluent Bit service account's `eks.amazonaws.com/role-arn` annotation."
  value       = try(aws_iam_role.shipper[0].arn, null)
}

output "shipper_service_account" {
  description = "namespace/name of the service account the role trusts."
  value       = try("${var.shipper_namespace}/${var.shipper_service_account}", null)
}
