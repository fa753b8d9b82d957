variable "create" {
  description = "Whether to create any resource at all (false in an account whose trail and detector another root owns)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name prefix of the trail, topic, rule and key alias, e.g. `aip`."
  type        = string
}

variable "bucket" {
  description = "Globally unique name of the CloudTrail bucket, e.g. `fixture-org-aip-cloudtrail`."
  type        = string
}

variable "log_retention_days" {
  description = "Days trail log objects (and their access logs) are kept before they expire."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 90
    error_message = "Keep trail logs at least 90 days (investigations look back that far)."
  }
}

variable "finding_publishing_frequency" {
  description = "How often GuardDuty publishes updates of existing findings (new findings are sent at once)."
  type        = string
  default     = "FIFTEEN_MINUTES"

  validation {
    condition     = contains(["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"], var.finding_publishing_frequency)
    error_message = "The finding_publishing_frequency must be FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS."
  }
}

variable "enable_runtime_monitoring" {
  description = "Whether GuardDuty runs its managed runtime agent on the account's EKS clusters (billed per monitored vCPU)."
  type        = bool
  default     = true
}

variable "enable_s3_protection" {
  description = "Whether GuardDuty analyses S3 data events of the account's buckets."
  type        = bool
  default     = true
}

variable "min_finding_severity" {
  description = "Lowest GuardDuty severity (1-8.9; 4 is medium, 7 high) sent to the alerts topic."
  type        = number
  default     = 4

  validation {
    condition     = var.min_finding_severity >= 1 && var.min_finding_severity < 9
    error_message = "The min_finding_severity must be between 1 and 8.9."
  }
}

variable "alert_email_addresses" {
  description = "Addresses subscribed to the security alerts topic (each confirms by mail)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every taggable resource; must include owner, environment and cost-center."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["owner", "environment", "cost-center"] : contains(keys(var.tags), k)])
    error_message = "The tags must include owner, environment and cost-center."
  }
}
