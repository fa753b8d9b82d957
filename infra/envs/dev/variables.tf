variable "region" {
  description = "AWS region of the environment; null: platform.yaml's organisation.region."
  type        = string
  default     = null
}

variable "repository" {
  description = "GitHub repository ORG/REPO whose environment jobs may deploy here; null: platform.yaml's organisation.repository."
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

variable "cluster_public_access_cidrs" {
  description = "CIDRs allowed to reach the EKS API from outside the VPC (CI egress); empty keeps it private."
  type        = list(string)
  default     = []
}

variable "budget_emails" {
  description = "Who gets the environment's budget alerts; null: <platform team>@<domain> from platform.yaml."
  type        = list(string)
  default     = null
}

variable "kube_api_tunnel_port" {
  description = "Local port of an SSM port forward to the private Kubernetes API (CI: infra/README.md); null talks to the endpoint directly (inside the VPC)."
  type        = number
  default     = null
}

variable "install_platform_releases" {
  description = "Whether to install the Helm releases and CronJobs (false for the first, AWS-only apply)."
  type        = bool
  default     = true
}
