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
  description = "Prefix of the role names, e.g. `aip`; roles are named `<prefix>-github-<key>`."
  type        = string
  default     = "aip"
}

variable "roles" {
  description = "Roles by a static key (e.g. `dev-deploy`, `infra-dev-apply`, `plan`): the GitHub environment (or pull_request) trusted, managed policies, inline allow and deny statements."
  type = map(object({
    environment  = optional(string)
    pull_request = optional(bool, false)
    branches     = optional(list(string), [])
    policy_arns  = optional(list(string), [])
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
    deny_statements = optional(list(object({
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
    condition     = alltrue([for k in keys(var.roles) : can(regex("^[a-z0-9][a-z0-9-]{0,40}$", k))])
    error_message = "Role keys must be lower-case letters, digits and dashes (at most 41 characters), e.g. dev-deploy."
  }

  validation {
    condition     = alltrue([for r in values(var.roles) : (r.environment != null) != r.pull_request])
    error_message = "Each role trusts exactly one subject: set `environment` (a GitHub environment) or `pull_request = true`, not both."
  }

  validation {
    condition     = alltrue([for r in values(var.roles) : length(r.branches) == 0 || r.pull_request])
    error_message = "Only a read-only pull_request role may also trust pushes to `branches`; an environment role trusts its environment alone."
  }

  validation {
    condition = alltrue(flatten([
      for r in values(var.roles) : [
        for s in r.statements : [for a in s.actions : a != "*" && !endswith(a, ":*")]
      ]
    ]))
    error_message = "Inline allow statements must name actions; `*` and `service:*` are refused."
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
