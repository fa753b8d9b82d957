variable "region" {
  description = "AWS region of the environment (platform.yaml's region)."
  type        = string
  default     = "eu-west-1"
}

variable "repository" {
  description = "GitHub repository ORG/REPO whose environment jobs may deploy here (platform.yaml's org/repo)."
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

variable "cluster_public_access_cidrs" {
  description = "CIDRs allowed to reach the EKS API from outside the VPC (CI egress); empty keeps it private."
  type        = list(string)
  default     = []
}
