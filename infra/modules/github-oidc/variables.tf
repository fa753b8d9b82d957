variable "create" {
  description = "Whether to create any resource at all."
  type        = bool
  default     = true
}

variable "create_oidc_provider" {
  description = "Whether to create the account's GitHub OIDC provider (false when another stack owns it)."
  type        = bool
  default     = true
}

variable "oidc_provider_arn" {
  description = "ARN of an existing GitHub OIDC provider when `create_oidc_provider` is false."
  type        = string
  default     = null
}

variable "repository" {
  description = "GitHub repository allowed to assume the roles, as ORG/REPO (platform.yaml's org and repo)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository)) && !strcontains(var.repository, "*")
    error_message = "The repository must be an exact ORG/REPO without wildcards."
  }
}

variable "name_prefix" {
  description = "Prefix of the role names, e.g. `aip`; roles are named `<prefix>-<environment>-github-deploy`."
  type        = string
  default     = "aip"
}

variable "environments" {
  description = "Per GitHub environment: managed policy ARNs and inline least-privilege statements for its deploy role."
  type = map(object({
    policy_arns = optional(list(string), [])
    statements = optional(list(object({
      sid       = string
      actions   = list(string)
      resources = list(string)
      conditions = optional(list(object({
        test     = string
        variable = string
        values   = list(string)
      })), [])
    })), [])
    max_session_duration = optional(number, 3600)
  }))

  validation {
    condition     = alltrue([for e in keys(var.environments) : contains(["dev", "staging", "prod"], e)])
    error_message = "Environment keys must be dev, staging or prod (GitHub environment names from platform.yaml)."
  }

  validation {
    condition = alltrue(flatten([
      for e in values(var.environments) : [
        for s in e.statements : [for a in s.actions : a != "*" && !endswith(a, ":*")]
      ]
    ]))
    error_message = "Inline statements must name actions; `*` and `service:*` are refused."
  }
}

variable "tags" {
  description = "Tags for every taggable resource; must include owner, environment and cost-center."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["owner", "environment", "cost-center"] : contains(keys(var.tags), k)])
    error_message = "The tags must include owner, environment and cost-center."
  }
}
