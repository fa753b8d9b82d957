variable "name" {
  description = "Short platform name used as the first part of every resource name (lowercase letters, digits, dashes)."
  type        = string
  default     = "aip"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.name))
    error_message = "The name must be 2-16 characters of lowercase letters, digits and dashes, starting with a letter."
  }
}

variable "environment" {
  description = "Deployment environment; one of the platform's environments in platform.yaml (dev, staging, prod)."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of: dev, staging, prod."
  }
}

variable "owner" {
  description = "Team or person accountable for the resources; becomes the required `owner` tag."
  type        = string

  validation {
    condition     = length(trimspace(var.owner)) > 0
    error_message = "The owner tag is required and must not be empty."
  }
}

variable "cost_center" {
  description = "Cost centre the spend is booked to; becomes the required `cost-center` tag."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]*$", var.cost_center))
    error_message = "The cost-center tag is required: letters, digits, dot, dash or underscore."
  }
}

variable "repository" {
  description = "GitHub repository (ORG/REPO) that manages the resources; recorded in the `repository` tag."
  type        = string
  default     = null

  validation {
    condition     = var.repository == null || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository))
    error_message = "The repository must look like ORG/REPO."
  }
}

variable "tags" {
  description = "Extra tags merged under the required ones; they cannot override owner, environment or cost-center."
  type        = map(string)
  default     = {}
}
