variable "environment" {
  description = "Platform environment (dev, staging, prod), as in platform.yaml."
  type        = string
}

variable "name" {
  description = "Resource name prefix; the stack is `<name>-<environment>`."
  type        = string
  default     = "aip"
}

variable "repository" {
  description = "GitHub repository ORG/REPO (platform.yaml's org and repository)."
  type        = string
}

variable "tags" {
  description = "Tags for every taggable resource: owner, environment and cost-center (the context module's output)."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["owner", "environment", "cost-center"] : contains(keys(var.tags), k)])
    error_message = "The tags must include owner, environment and cost-center."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the environment's VPC (distinct per environment so they can be peered)."
  type        = string
}

variable "azs" {
  description = "Availability zones of the region to spread over."
  type        = list(string)
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper; dev)."
  type        = bool
  default     = false
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.33"
}

variable "cluster_public_access_cidrs" {
  description = "CIDRs allowed to reach the EKS API publicly; empty keeps the endpoint private."
  type        = list(string)
  default     = []
}

variable "cpu_pool" {
  description = "The CPU pool: instance types and autoscaling bounds."
  type = object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    spot           = optional(bool, false)
  })
}

variable "gpu_pool" {
  description = "The GPU pool: instance types, autoscaling bounds (min 0 scales to zero) and the spot option."
  type = object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    spot           = optional(bool, false)
  })
}

variable "mlflow_db" {
  description = "MLflow Postgres sizing and safety: instance class, Multi-AZ, backup days, deletion protection."
  type = object({
    instance_class        = string
    multi_az              = bool
    backup_retention_days = number
    deletion_protection   = bool
  })
}

variable "host_registry" {
  description = "Whether this environment hosts the shared MLflow registry and the artifact and DVC buckets (platform.yaml: one registry for all environments; prod hosts it)."
  type        = bool
  default     = false
}

variable "artifact_bucket_name" {
  description = "Name of the shared MLflow artifact bucket (platform.yaml's artifact_store)."
  type        = string
}

variable "dvc_bucket_name" {
  description = "Name of the shared DVC remote bucket (platform.yaml's dvc_remote)."
  type        = string
}

variable "force_destroy_buckets" {
  description = "Whether destroy may delete non-empty buckets (dev only)."
  type        = bool
  default     = false
}

variable "dashboards_path" {
  description = "Folder of rendered Grafana dashboards (the repository's dashboards/rendered)."
  type        = string
}

variable "gpu_runners" {
  description = "GPU runners: ARC scale-set bounds and whether to also create an autoscaling group of GPU VMs."
  type = object({
    arc_max_runners = number
    create_asg      = optional(bool, false)
    asg_ami_id      = optional(string)
    asg_max_size    = optional(number, 0)
  })
}

variable "deploy_policy_arns" {
  description = "Extra managed policies for the environment's GitHub deploy role (e.g. the role infra.yml applies with)."
  type        = list(string)
  default     = []
}
