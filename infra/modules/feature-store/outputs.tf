output "replication_group_id" {
  description = "Identifier of the ElastiCache replication group."
  value       = try(aws_elasticache_replication_group.this[0].id, null)
}

output "primary_endpoint" {
  description = "Host name of the primary (writes and reads; TLS on port 6379): platform.yaml's online_store host."
  value       = try(aws_elasticache_replication_group.this[0].primary_endpoint_address, null)
}

output "reader_endpoint" {
  description = "Host name that spreads reads over the replicas (TLS on port 6379)."
  value       = try(aws_elasticache_replication_group.this[0].reader_endpoint_address, null)
}

output "port" {
  description = "Port of the store."
  value       = try(aws_elasticache_replication_group.this[0].port, null)
}

output "auth_secret_arn" {
  description = "Secrets Manager secret holding the AUTH token (a plain string): the password the Feast clients send."
  value       = try(aws_secretsmanager_secret.auth[0].arn, null)
}

output "kms_key_arn" {
  description = "KMS key encrypting the store, its snapshots and the AUTH token secret."
  value       = try(local.kms_key_arn, null)
}

output "security_group_id" {
  description = "Security group of the store."
  value       = try(aws_security_group.this[0].id, null)
}
