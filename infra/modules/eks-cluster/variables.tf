variable "create" {
  description = "Whether to create any resource at all."
  type        = bool
  default     = true
}

variable "name" {
  description = "Cluster name, e.g. `aip-dev`."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and node pools (1.35: EKS standard support until 2027-03-27)."
  type        = string
  default     = "1.35"
}

variable "vpc_id" {
  description = "VPC the cluster lives in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the control plane ENIs and the node pools (two zones or more)."
  type        = list(string)
}

variable "endpoint_public_access" {
  description = "Whether the API endpoint is reachable from outside the VPC (restricted by `public_access_cidrs`)."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "CIDRs allowed to reach a public API endpoint; never 0.0.0.0/0."
  type        = list(string)
  default     = []

  validation {
    condition     = !contains(var.public_access_cidrs, "0.0.0.0/0")
    error_message = "The public API endpoint must not be open to 0.0.0.0/0."
  }
}

variable "cluster_log_retention_in_days" {
  description = "Retention of the control-plane log group, in days."
  type        = number
  default     = 365
}

variable "enable_irsa" {
  description = "Whether to create the IAM OIDC provider for IAM roles for service accounts."
  type        = bool
  default     = true
}

variable "access_entries" {
  description = "EKS access entries by a static name: the principal ARN, the access policy (cluster-admin, admin, edit, view, admin-view), for a namespace scope its namespaces, and Kubernetes groups for RBAC the policies do not cover (custom resources, e.g. the TrainJob submitters' Role of `aip cluster setup`)."
  type = map(object({
    principal_arn     = string
    policy            = optional(string, "view")
    namespaces        = optional(list(string), [])
    kubernetes_groups = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for e in values(var.access_entries) : alltrue([for g in e.kubernetes_groups : !startswith(g, "system:")])])
    error_message = "Kubernetes groups of an access entry must not start with `system:` (EKS refuses them)."
  }

  validation {
    condition     = alltrue([for e in values(var.access_entries) : contains(["cluster-admin", "admin", "edit", "view", "admin-view"], e.policy)])
    error_message = "Each access entry's policy must be one of cluster-admin, admin, edit, view, admin-view."
  }
}

variable "enable_karpenter" {
  description = "Whether to create Karpenter's AWS side: controller role (Pod Identity), node role access entry, interruption queue and its EventBridge rules."
  type        = bool
  default     = false
}

variable "karpenter_namespace" {
  description = "Namespace and service account `karpenter` the controller runs as (Pod Identity association)."
  type        = string
  default     = "kube-system"
}

variable "enable_ebs_csi_driver" {
  description = "Whether to install the aws-ebs-csi-driver add-on with its own IAM role (Pod Identity), for gp3 volumes."
  type        = bool
  default     = true
}

variable "node_pools" {
  description = "CPU node pools by name: instance types, scaling bounds, spot option, labels and extra taints."
  type = map(object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = optional(number)
    spot           = optional(bool, false)
    ami_type       = optional(string, "AL2023_x86_64_STANDARD")
    disk_size_gib  = optional(number, 50)
    labels         = optional(map(string), {})
    taints = optional(list(object({
      key    = string
      value  = optional(string)
      effect = string
    })), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for p in values(var.node_pools) : p.min_size >= 0 && p.min_size <= p.max_size])
    error_message = "Each node pool needs 0 <= min_size <= max_size."
  }
}

variable "gpu_node_pools" {
  description = "GPU node pools by name; each always gets the taint nvidia.com/gpu=true:NoSchedule and GPU labels."
  type = map(object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = optional(number)
    spot           = optional(bool, false)
    ami_type       = optional(string, "AL2023_x86_64_NVIDIA")
    disk_size_gib  = optional(number, 200)
    labels         = optional(map(string), {})
  }))
  default = {}

  validation {
    condition     = alltrue([for p in values(var.gpu_node_pools) : p.min_size >= 0 && p.min_size <= p.max_size])
    error_message = "Each GPU node pool needs 0 <= min_size <= max_size."
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
