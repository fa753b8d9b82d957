variable "region" {
  description = "AWS region of the state bucket (platform.yaml's region)."
  type        = string
  default     = "eu-west-1"
}

variable "org" {
  description = "GitHub organisation (platform.yaml's org); prefixes the state bucket name."
  type        = string
  default     = "example-org" # TODO(fork): your GitHub organisation
}

variable "repository" {
  description = "GitHub repository ORG/REPO managing the platform."
  type        = string
  default     = "example-org/ai-platform" # TODO(fork): your ORG/REPO
}

variable "owner" {
  description = "Value of the required `owner` tag."
  type        = string
  default     = "platform-team" # TODO(fork): the accountable team
}

variable "cost_center" {
  description = "Value of the required `cost-center` tag."
  type        = string
  default     = "ml-platform" # TODO(fork): your cost centre
}

variable "name" {
  description = "Resource name prefix of the platform (the environments' `aip`)."
  type        = string
  default     = "aip"
}

variable "break_glass_principal_arns" {
  description = "IAM users or roles (people) allowed to assume the break-glass admin role, with MFA."
  type        = list(string)
  default     = ["arn:aws:iam::123456789012:role/platform-oncall"] # TODO(fork): your on-call people

  validation {
    condition     = length(var.break_glass_principal_arns) > 0 && alltrue([for a in var.break_glass_principal_arns : !strcontains(a, "*")])
    error_message = "Name at least one principal, without wildcards."
  }
}

variable "security_alert_emails" {
  description = "E-mail addresses subscribed to GuardDuty findings of medium severity or higher (the audit module's SNS topic)."
  type        = list(string)
  default     = []
}
