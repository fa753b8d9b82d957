output "db_instance_identifier" {
  description = "Identifier of the RDS instance."
  value       = try(aws_db_instance.this[0].identifier, null)
}

output "db_endpoint" {
  description = "host:port of the Postgres endpoint (TLS required)."
  value       = try(aws_db_instance.this[0].endpoint, null)
}

output "db_host" {
  description = "Host name of the Postgres endpoint (the ConfigMap's DB_HOST)."
  value       = try(aws_db_instance.this[0].address, null)
}

output "db_port" {
  description = "Port of the Postgres endpoint (the ConfigMap's DB_PORT)."
  value       = try(aws_db_instance.this[0].port, null)
}

output "db_name" {
  description = "Database MLflow uses (the ConfigMap's DB_NAME)."
  value       = try(aws_db_instance.this[0].db_name, null)
}

output "db_master_secret_arn" {
  description = "ARN of the RDS-managed, rotated Secrets Manager secret (JSON keys `username`, `password`): the ExternalSecret's remoteRef key."
  value       = try(local.db_secret_arn, null)
}

output "db_kms_key_arn" {
  description = "KMS key of the database, its backups and its master secret."
  value       = try(aws_kms_key.this[0].arn, null)
}

output "external_secrets_role_arn" {
  description = "IAM role External Secrets Operator assumes (IRSA) to read the master secret; annotated on `external_secrets_service_account`."
  value       = try(aws_iam_role.secrets[0].arn, null)
}

output "external_secrets_service_account" {
  description = "Service account in the MLflow namespace that the SecretStore's auth.jwt.serviceAccountRef names."
  value       = try(local.eso_service_account, null)
}

output "server_role_arn" {
  description = "IAM role of the MLflow server's service account (IRSA)."
  value       = try(aws_iam_role.server[0].arn, null)
}

output "kubernetes_namespace" {
  description = "Namespace holding the MLflow wiring."
  value       = try(kubernetes_namespace_v1.this[0].metadata[0].name, null)
}

output "auth_secret_arn" {
  description = "Secrets Manager secret of the server's own credentials (admin_password, flask_secret_key, metrics_reader_password): the key of infra/k8s/mlflow/externalsecret-auth.yaml."
  value       = try(aws_secretsmanager_secret.auth[0].arn, null)
}
