output "trail_arn" {
  description = "ARN of the multi-region trail."
  value       = try(aws_cloudtrail.this[0].arn, null)
}

output "trail_bucket_id" {
  description = "Bucket holding the trail's log files (and their digest files)."
  value       = try(module.bucket.bucket_id, null)
}

output "kms_key_arn" {
  description = "KMS key of the trail logs and the alerts topic."
  value       = try(aws_kms_key.this[0].arn, null)
}

output "guardduty_detector_id" {
  description = "GuardDuty detector of the account in this region."
  value       = try(aws_guardduty_detector.this[0].id, null)
}

output "alerts_topic_arn" {
  description = "SNS topic receiving GuardDuty findings (subscribe on-call tools here)."
  value       = try(aws_sns_topic.alerts[0].arn, null)
}
