output "db_instance_identifier" {
  description = "Identifier of the RDS instance."
  value       = try(aws_db_instance.this[0].identifier, null)
}

output "db_host" {
  description = "Host name of the Postgres endpoint (TLS required): the host of platform.yaml's study_storage."
  value       = try(aws_db_instance.this[0].address, null)
}

output "db_port" {
  description = "Port of the Postgres endpoint."
  value       = try(aws_db_instance.this[0].port, null)
}

output "db_name" {
  description = "Database holding the studies (`optuna`)."
  value       = try(aws_db_instance.this[0].db_name, null)
}

output "db_username" {
  description = "Login of the tuning workers (`optuna`)."
  value       = try(aws_db_instance.this[0].username, null)
}

output "storage_url" {
  description = "platform.yaml's `environments.<env>.study_storage`: the SQLAlchemy URL without the password (AIP_STUDY_STORAGE_PASSWORD supplies it)."
  value       = try("postgresql+psycopg://${aws_db_instance.this[0].username}@${aws_db_instance.this[0].address}:${aws_db_instance.this[0].port}/${aws_db_instance.this[0].db_name}?sslmode=require", null)
}

output "login_secret_arn" {
  description = "Secrets Manager secret of the login (JSON: username, password, dbname): copy its password into the GitHub secret AIP_STUDY_STORAGE_PASSWORD; also the Kubernetes Secret `optuna-study-storage` of infra/k8s/tuning."
  value       = try(aws_secretsmanager_secret.login[0].arn, null)
}

output "kms_key_arn" {
  description = "KMS key of the database, its backups and the login secret."
  value       = try(aws_kms_key.this[0].arn, null)
}
