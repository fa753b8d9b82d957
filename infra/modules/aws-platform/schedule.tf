# A night schedule for the GPU pool (dev): two CronJobs patch the GPU NodePool's nvidia.com/gpu limit
# to 0 (no new GPU node can launch; Karpenter then drains and removes the GPU nodes that are empty
# or whose pods finish) and back to gpu_pool's limit in the morning. The NodePool itself and its
# consolidation are in infra/k8s/platform/karpenter/nodepool-gpu.yaml.
locals {
  night     = var.gpu_night_schedule != null && var.install_platform_releases
  gpu_limit = tostring(var.gpu_pool.max_size * var.gpu_pool.gpus_per_node)
  night_jobs = local.night ? {
    stop  = { schedule = var.gpu_night_schedule.stop, limit = "0" }
    start = { schedule = var.gpu_night_schedule.start, limit = local.gpu_limit }
  } : {}
}

resource "kubernetes_service_account_v1" "gpu_schedule" {
  count = local.night ? 1 : 0

  metadata {
    name      = "gpu-night-schedule"
    namespace = "kube-system"
  }
  automount_service_account_token = true
}

resource "kubernetes_cluster_role_v1" "gpu_schedule" {
  count = local.night ? 1 : 0

  metadata {
    name = "gpu-night-schedule"
  }
  rule {
    api_groups     = ["karpenter.sh"]
    resources      = ["nodepools"]
    resource_names = ["gpu"]
    verbs          = ["get", "patch"]
  }
}

resource "kubernetes_cluster_role_binding_v1" "gpu_schedule" {
  count = local.night ? 1 : 0

  metadata {
    name = "gpu-night-schedule"
  }
  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "ClusterRole"
    name      = kubernetes_cluster_role_v1.gpu_schedule[0].metadata[0].name
  }
  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account_v1.gpu_schedule[0].metadata[0].name
    namespace = "kube-system"
  }
}

resource "kubernetes_cron_job_v1" "gpu_schedule" {
  for_each = local.night_jobs

  metadata {
    name      = "gpu-pool-${each.key}"
    namespace = "kube-system"
  }
  spec {
    schedule                      = each.value.schedule # UTC: the time zone of EKS's controller manager
    concurrency_policy            = "Replace"
    successful_jobs_history_limit = 1
    failed_jobs_history_limit     = 3
    job_template {
      metadata {}
      spec {
        backoff_limit = 3
        template {
          metadata {}
          spec {
            service_account_name = kubernetes_service_account_v1.gpu_schedule[0].metadata[0].name
            restart_policy       = "OnFailure"
            container {
              name    = "patch"
              image   = var.kubectl_image
              command = ["kubectl", "patch", "nodepool", "gpu", "--type=merge", "-p", jsonencode({ spec = { limits = { "nvidia.com/gpu" = each.value.limit } } })]
              security_context {
                run_as_non_root            = true
                run_as_user                = 65534
                allow_privilege_escalation = false
                read_only_root_filesystem  = true
                capabilities {
                  drop = ["ALL"]
                }
              }
              resources {
                requests = { cpu = "10m", memory = "32Mi" }
                limits   = { memory = "64Mi" }
              }
            }
          }
        }
      }
    }
  }
  depends_on = [helm_release.platform]
}
