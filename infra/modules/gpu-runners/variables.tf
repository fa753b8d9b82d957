variable "name" {
  description = "Name prefix, e.g. `aip-dev`; the ARC scale set is `<name>-gpu`."
  type        = string
}

variable "github_config_url" {
  description = "GitHub URL the runners register to: https://github.com/ORG/REPO (or the org)."
  type        = string

  validation {
    condition     = can(regex("^https://github\\.com/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?$", var.github_config_url))
    error_message = "The github_config_url must be https://github.com/ORG or https://github.com/ORG/REPO."
  }
}

variable "enable_arc" {
  description = "Whether to install actions-runner-controller and a GPU runner scale set on the cluster's GPU pool."
  type        = bool
  default     = true
}

variable "enable_nvidia_device_plugin" {
  description = "Whether to install NVIDIA's device plugin so GPU pods can request nvidia.com/gpu."
  type        = bool
  default     = true
}

variable "arc_version" {
  description = "Version of the gha-runner-scale-set-controller and gha-runner-scale-set charts."
  type        = string
  default     = "0.12.1"
}

variable "nvidia_device_plugin_version" {
  description = "Version of NVIDIA's k8s-device-plugin chart."
  type        = string
  default     = "0.17.1"
}

variable "github_config_secret" {
  description = "Name of the pre-created Secret (GitHub App id, installation id, private key) in the runners namespace."
  type        = string
  default     = "github-app"
}

variable "arc_min_runners" {
  description = "Idle GPU runners kept warm (0 lets the GPU pool scale to zero)."
  type        = number
  default     = 0
}

variable "arc_max_runners" {
  description = "Upper bound of concurrent GPU runner pods."
  type        = number
  default     = 2
}

variable "gpu_node_selector" {
  description = "Node selector of the GPU pools (the eks-cluster module's gpu_node_selector output)."
  type        = map(string)
  default     = { "nvidia.com/gpu.present" = "true" }
}

variable "gpu_toleration" {
  description = "Toleration for the GPU pools' taint (the eks-cluster module's gpu_toleration output)."
  type        = map(string)
  default     = { key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }
}

variable "create_asg" {
  description = "Whether to create an autoscaling group of GPU VMs that the Ansible playbook turns into JIT runners."
  type        = bool
  default     = false
}

variable "asg_ami_id" {
  description = "AMI of the GPU VMs (Ubuntu 24.04 or Debian 12; Ansible installs the driver)."
  type        = string
  default     = null
}

variable "asg_instance_types" {
  description = "Instance types of the GPU VMs, in order of preference."
  type        = list(string)
  default     = ["g5.xlarge", "g6.xlarge"]
}

variable "asg_min_size" {
  description = "Minimum number of GPU VMs."
  type        = number
  default     = 0
}

variable "asg_max_size" {
  description = "Maximum number of GPU VMs."
  type        = number
  default     = 2
}

variable "asg_spot" {
  description = "Whether the GPU VMs run on spot capacity (jobs must tolerate interruption)."
  type        = bool
  default     = false
}

variable "asg_volume_size_gib" {
  description = "Root volume size of the GPU VMs in GiB (images, datasets, checkpoints)."
  type        = number
  default     = 200
}

variable "vpc_id" {
  description = "VPC of the GPU VMs (required with `create_asg`)."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Private subnets of the GPU VMs (required with `create_asg`)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every taggable resource; must include owner, environment and cost-center."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["owner", "environment", "cost-center"] : contains(keys(var.tags), k)])
    error_message = "The tags must include owner, environment and cost-center."
  }
}
