output "bucket_id" {
  description = "Name of the bucket."
  value       = try(aws_s3_bucket.this[0].id, null)
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = try(aws_s3_bucket.this[0].arn, null)
}

output "bucket_uri" {
  description = "s3:// URI of the bucket, as DVC remotes and MLflow artifact roots expect."
  value       = try("s3://${aws_s3_bucket.this[0].id}", null)
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the bucket."
  value       = try(local.kms_key_arn, null)
}

output "log_bucket_id" {
  description = "Name of the bucket receiving server access logs."
  value       = try(local.log_bucket, null)
}
