output "db_instance_identifier" {
  description = "Identifier of the RDS instance."
  value       = try(aws_db_instance.this[0].identifier, null)
}

output "db_endpoint" {
  description = "host:port of the Postgres endpoint (TLS required)."
  value       = try(aws_db_instance.this[0].endpoint, null)
}

output "db_master_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret holding the master credentials."
  value       = try(aws_db_instance.this[0].master_user_secret[0].secret_arn, null)
}

output "server_role_arn" {
  description = "IAM role of the MLflow server's service account (IRSA)."
  value       = try(aws_iam_role.server[0].arn, null)
}

output "kubernetes_namespace" {
  description = "Namespace holding the MLflow wiring."
  value       = try(kubernetes_namespace_v1.this[0].metadata[0].name, null)
}
