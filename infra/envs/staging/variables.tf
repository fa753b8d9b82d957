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

variable "budget_emails" {
  description = "Who gets the environment's budget alerts."
  type        = list(string)
  default     = ["platform-team@example-org.com"] # TODO(fork): your team's address
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
