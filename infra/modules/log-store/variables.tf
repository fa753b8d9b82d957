variable "create" {
  description = "Whether to create any resource at all."
  type        = bool
  default     = true
}

variable "name" {
  description = "Platform name prefix, e.g. `aip`; the log group is `/<name>/<environment>/containers` (what the Fluent Bit values expect)."
  type        = string
}

variable "environment" {
  description = "Environment of the cluster whose logs the group receives."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of: dev, staging, prod."
  }
}

variable "backend" {
  description = "Where the logs go: `cloudwatch` (CloudWatch Logs) is the one backend built; OpenSearch is a documented extension."
  type        = string
  default     = "cloudwatch"

  validation {
    condition     = var.backend == "cloudwatch"
    error_message = "The backend must be \"cloudwatch\": the OpenSearch backend is not built yet (docs/adr/0016-service-secrets-runners-and-audit.md)."
  }
}

variable "retention_in_days" {
  description = "Days CloudWatch Logs keeps the events (one of the values CloudWatch accepts; 365 or more for audit)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.retention_in_days)
    error_message = "The retention_in_days must be a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster (IRSA) for the log shipper's role."
  type        = string
}

variable "oidc_issuer" {
  description = "Cluster OIDC issuer without https://, used in the IRSA trust condition."
  type        = string
}

variable "shipper_namespace" {
  description = "Namespace of the Fluent Bit DaemonSet."
  type        = string
  default     = "logging"
}

variable "shipper_service_account" {
  description = "Service account of the Fluent Bit DaemonSet (annotated with `shipper_role_arn`)."
  type        = string
  default     = "fluent-bit"
}

variable "tags" {
  description = "Tags for every taggable resource; must include owner, environment and cost-center."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["owner", "environment", "cost-center"] : contains(keys(var.tags), k)])
    error_message = "The tags must include owner, environment and cost-center."
  }
}
