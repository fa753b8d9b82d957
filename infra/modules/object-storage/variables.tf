variable "create" {
  description = "Whether to create any resource at all (the terraform-aws-modules on/off switch)."
  type        = bool
  default     = true
}

variable "bucket" {
  description = "Globally unique bucket name, e.g. `aip-dev-mlflow-artifacts-111122223333`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket))
    error_message = "The bucket name must be 3-63 characters of lowercase letters, digits, dots and dashes."
  }
}

variable "force_destroy" {
  description = "Whether `terraform destroy` may delete a non-empty bucket (true only for throwaway dev stacks)."
  type        = bool
  default     = false
}

variable "create_kms_key" {
  description = "Whether to create a customer-managed KMS key for the bucket; false uses `kms_key_arn`."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key for SSE-KMS when `create_kms_key` is false."
  type        = string
  default     = null
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before a scheduled KMS key deletion completes (7-30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "The KMS deletion window must be between 7 and 30 days."
  }
}

variable "create_log_bucket" {
  description = "Whether to create a companion bucket that receives this bucket's server access logs."
  type        = bool
  default     = true
}

variable "logging_target_bucket" {
  description = "Existing bucket that receives server access logs when `create_log_bucket` is false."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Days after which server access log objects expire in the created log bucket."
  type        = number
  default     = 365
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which non-current object versions are deleted."
  type        = number
  default     = 90
}

variable "intelligent_tiering_after_days" {
  description = "Days after which current objects move to S3 Intelligent-Tiering (0 disables the transition)."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every taggable resource; must include owner, environment and cost-center."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["owner", "environment", "cost-center"] : contains(keys(var.tags), k)])
    error_message = "The tags must include owner, environment and cost-center."
  }
}

variable "deny_write_principal_arns" {
  description = "IAM principal ARN patterns (ArnLike, e.g. `arn:aws:iam::111122223333:role/aip-dev-*`) that may never write or delete objects: lower environments on prod's buckets."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.deny_write_principal_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", a))])
    error_message = "Each deny_write_principal_arns entry must be an IAM or STS ARN (pattern) in an account: arn:aws:iam::ACCOUNT:role/NAME-*."
  }
}

variable "policy_documents" {
  description = "Extra bucket policy documents (JSON) merged into the bucket policy, e.g. a log delivery service's grant."
  type        = list(string)
  default     = []
}
