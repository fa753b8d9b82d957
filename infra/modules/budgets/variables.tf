variable "create" {
  description = "Whether to create the budget."
  type        = bool
  default     = true
}

variable "name" {
  description = "Budget name, e.g. `aip-dev`."
  type        = string
}

variable "environment" {
  description = "Value of the `environment` tag whose spend the budget counts."
  type        = string
}

variable "limit_usd" {
  description = "Monthly limit in USD."
  type        = number

  validation {
    condition     = var.limit_usd > 0
    error_message = "limit_usd must be a positive amount of USD per month."
  }
}

variable "thresholds" {
  description = "Alert thresholds in percent of the limit; each alerts on the actual and on the forecast spend."
  type        = list(number)
  default     = [50, 80, 100]

  validation {
    condition     = length(var.thresholds) > 0 && alltrue([for t in var.thresholds : t > 0 && t <= 1000])
    error_message = "thresholds must be at least one percentage between 0 (exclusive) and 1000."
  }
}

variable "subscriber_emails" {
  description = "E-mail addresses told when a threshold is crossed (one to ten)."
  type        = list(string)

  validation {
    condition     = length(var.subscriber_emails) > 0 && length(var.subscriber_emails) <= 10 && alltrue([for e in var.subscriber_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "subscriber_emails must hold one to ten e-mail addresses."
  }
}

variable "tags" {
  description = "Tags for the budget; must include owner, environment and cost-center."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["owner", "environment", "cost-center"] : contains(keys(var.tags), k)])
    error_message = "The tags must include owner, environment and cost-center."
  }
}
