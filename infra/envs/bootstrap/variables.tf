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
