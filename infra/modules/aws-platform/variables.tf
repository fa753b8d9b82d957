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
  description = "EKS Kubernetes version (1.35: standard support until 2027-03-27)."
  type        = string
  default     = "1.35"
}

variable "state_bucket" {
  description = "Terraform state bucket (infra/envs/bootstrap's state_bucket): the apply role reads and writes only this root's key."
  type        = string
}

variable "deploy_namespaces" {
  description = "Namespaces the deploy role may edit through its EKS access entry (platform.yaml's kubernetes_namespace)."
  type        = list(string)
  default     = ["ml-serving"]
}

variable "enable_api_tunnel" {
  description = "Whether to create the SSM port-forward host CI uses to reach the private EKS API (docs/adr/0015)."
  type        = bool
  default     = true
}

variable "platform_releases_file" {
  description = "Pinned Helm release list (infra/k8s/platform/releases.yaml); one helm_release per entry, keyed by name."
  type        = string
}

variable "install_platform_releases" {
  description = "Whether to install the platform's Helm releases (false for a first, AWS-only apply)."
  type        = bool
  default     = true
}

variable "gpu_night_schedule" {
  description = "Cron schedules (UTC) that set the GPU NodePool's limit to zero (`stop`) and back to gpu_pool's (`start`); null leaves GPUs available around the clock."
  type = object({
    stop  = string
    start = string
  })
  default = null
}

variable "kubectl_image" {
  description = "kubectl image the GPU night-schedule CronJobs run (pinned tag)."
  type        = string
  default     = "registry.k8s.io/kubectl:v1.35.0"
}

variable "budget" {
  description = "Monthly cost budget of the environment in USD, alert thresholds in percent of it, and who is told (email addresses)."
  type = object({
    limit_usd         = number
    thresholds        = optional(list(number), [50, 80, 100])
    subscriber_emails = list(string)
  })
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
  description = "The GPU pool, Karpenter's GPU NodePool: instance types, most nodes (max_size; min_size stays 0: the pool empties when idle), GPUs per node and the spot option."
  type = object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    gpus_per_node  = optional(number, 1)
    spot           = optional(bool, false)
  })

  validation {
    condition     = var.gpu_pool.min_size == 0 && var.gpu_pool.max_size >= 0
    error_message = "gpu_pool.min_size must be 0: Karpenter launches GPU nodes only for pending GPU pods and removes empty ones."
  }
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

variable "log_retention_in_days" {
  description = "Days the environment's container log group keeps events (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365
}

variable "gpu_runner_vms" {
  description = "Boot settings of the GPU runner VMs (with gpu_runners.create_asg): the GitHub token's secret (and its KMS key) and the git ref of infra/ansible they run."
  type = object({
    github_token_secret_arn  = optional(string)
    github_token_kms_key_arn = optional(string)
    bootstrap_ref            = optional(string, "main")
  })
  default = {}
}

variable "feature_store" {
  description = "The Feast online store (ElastiCache for Redis): whether to create it, node type, read replicas, Multi-AZ and snapshot days."
  type = object({
    create                  = optional(bool, true)
    node_type               = string
    replicas                = optional(number, 1)
    multi_az                = optional(bool, true)
    snapshot_retention_days = optional(number, 1)
  })
}

variable "study_store" {
  description = "Optuna's study storage (Postgres): whether this environment tunes (create) and the instance's class, Multi-AZ, backup days and deletion protection."
  type = object({
    create                = bool
    instance_class        = optional(string, "db.t4g.micro")
    multi_az              = optional(bool, false)
    backup_retention_days = optional(number, 7)
    deletion_protection   = optional(bool, true)
  })
  default = { create = false }
}
