variable "region" {
  description = "AWS region of the state bucket; null: platform.yaml's organisation.region."
  type        = string
  default     = null
}

variable "org" {
  description = "Organisation slug prefixing the state bucket name; null: platform.yaml's organisation.name."
  type        = string
  default     = null
}

variable "repository" {
  description = "GitHub repository ORG/REPO managing the platform; null: platform.yaml's organisation.repository."
  type        = string
  default     = null
}

variable "owner" {
  description = "Value of the required `owner` tag; null: platform.yaml's organisation.teams.platform."
  type        = string
  default     = null
}

variable "cost_center" {
  description = "Value of the required `cost-center` tag; null: platform.yaml's organisation.cost_center."
  type        = string
  default     = null
}

variable "name" {
  description = "Resource name prefix of the platform (the environments' `aip`)."
  type        = string
  default     = "aip"
}

variable "break_glass_principal_arns" {
  description = "IAM users or roles (people) allowed to assume the break-glass admin role, with MFA; null: the role platform-oncall in platform.yaml's account_id."
  type        = list(string)
  default     = null # TODO(fork): name your on-call people

  validation {
    condition     = var.break_glass_principal_arns == null || (length(coalesce(var.break_glass_principal_arns, [])) > 0 && alltrue([for a in coalesce(var.break_glass_principal_arns, []) : !strcontains(a, "*")]))
    error_message = "Name at least one principal, without wildcards."
  }
}

variable "security_alert_emails" {
  description = "E-mail addresses subscribed to GuardDuty findings of medium severity or higher (the audit module's SNS topic)."
  type        = list(string)
  default     = []
}
