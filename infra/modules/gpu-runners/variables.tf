variable "name" {
  description = "Name prefix `aip-<env>`; the ARC scale set is `<name>-gpu`, the `runs-on` of platform.yaml's `runner`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,40}[a-z0-9]$", var.name))
    error_message = "The name must be lowercase letters, digits and dashes (e.g. aip-dev): it names the runner scale set."
  }
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
  description = "AMI of the GPU VMs: stock Ubuntu 24.04 or Debian 12 (the boot script installs everything) or one prebaked from the same playbook (boots faster)."
  type        = string
  default     = null

  validation {
    condition     = !var.create_asg || can(regex("^ami-[0-9a-f]{8,17}$", var.asg_ami_id))
    error_message = "With create_asg = true, asg_ami_id must be an AMI id (ami-...)."
  }
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

variable "arc_runner_image" {
  description = "Runner container image of the ARC scale set, pinned by exact tag or digest (never `latest`)."
  type        = string
  # GitHub's runner image by digest; a fork points it at its own build of containers/runner.Containerfile
  # (the tools the jobs call: make, Python 3.11, awscli, kubectl, helm), pushed by digest.
  default = "ghcr.io/actions/actions-runner:2.328.0@sha256:db0dcae6d28559e54277755a33aba7d0665f255b3bd2a66cdc5e132712f155e0"

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.arc_runner_image)) || (can(regex(":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.arc_runner_image)) && !endswith(var.arc_runner_image, ":latest"))
    error_message = "The arc_runner_image must be pinned: IMAGE:TAG with an exact tag other than latest, or IMAGE@sha256:<64 hex digits>."
  }
}

variable "runner_version" {
  description = "Actions runner release the VM runners install (the ARC image tag should match it)."
  type        = string
  default     = "2.328.0"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.runner_version))
    error_message = "The runner_version must be a release number such as 2.328.0."
  }
}

variable "runner_sha256" {
  description = "sha256 of actions-runner-linux-x64-<runner_version>.tar.gz from the release notes; the VMs refuse any other download."
  type        = string
  default     = "01066fad3a2893e63e6ca880ae3a1fad5bf9329d60e77ee15f2b97c148c3cd4e"

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.runner_sha256))
    error_message = "The runner_sha256 must be the 64 lowercase hex digits of the runner tarball's sha256 (the release notes list it); it may not be empty."
  }
}

variable "asg_bootstrap_ref" {
  description = "Git ref (a tag or commit SHA is best) of this repository whose infra/ansible the VMs run at boot."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._/-]*$", var.asg_bootstrap_ref))
    error_message = "The asg_bootstrap_ref must be a branch, tag or commit SHA (letters, digits, . _ / -)."
  }
}

variable "asg_github_token_secret_arn" {
  description = "Secrets Manager secret (plain string) holding a GitHub token that may read the repository and create JIT runner configs; required with `create_asg`."
  type        = string
  default     = null

  validation {
    condition     = !var.create_asg || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.asg_github_token_secret_arn))
    error_message = "With create_asg = true, asg_github_token_secret_arn must be the ARN of a Secrets Manager secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)."
  }
}

variable "asg_github_token_kms_key_arn" {
  description = "Customer-managed KMS key of the token secret (null when the secret uses the AWS-managed key)."
  type        = string
  default     = null
}

variable "asg_ansible_core_version" {
  description = "ansible-core the VMs install with pip to run the playbook (the line requirements/tools.txt lints with)."
  type        = string
  default     = "2.19.14"
}
