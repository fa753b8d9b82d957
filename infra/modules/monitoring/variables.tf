variable "create" {
  description = "Whether to create any resource at all."
  type        = bool
  default     = true
}

variable "environment" {
  description = "Environment name, shown in Grafana and attached to every alert as the `env` label."
  type        = string
}

variable "namespace" {
  description = "Namespace for Prometheus, Alertmanager, Grafana and the exporters."
  type        = string
  default     = "monitoring"
}

variable "kube_prometheus_stack_version" {
  description = "Version of the prometheus-community kube-prometheus-stack chart."
  type        = string
  default     = "77.0.0"
}

variable "prometheus_retention" {
  description = "How long Prometheus keeps samples, e.g. `15d`."
  type        = string
  default     = "15d"
}

variable "prometheus_storage_size" {
  description = "Size of Prometheus' persistent volume, e.g. `50Gi`."
  type        = string
  default     = "50Gi"
}

variable "dashboards_path" {
  description = "Folder of rendered Grafana dashboard JSON (the repository's dashboards/rendered)."
  type        = string
}

variable "enable_dcgm_exporter" {
  description = "Whether to run NVIDIA's DCGM exporter on the GPU nodes (GPU utilisation, memory, temperature)."
  type        = bool
  default     = true
}

variable "dcgm_exporter_version" {
  description = "Version of NVIDIA's dcgm-exporter chart."
  type        = string
  default     = "4.1.1"
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
