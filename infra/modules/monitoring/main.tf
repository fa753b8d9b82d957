# Prometheus, Alertmanager and Grafana through the kube-prometheus-stack chart; every rendered
# dashboard in dashboards/rendered becomes a ConfigMap that Grafana's sidecar loads (label
# grafana_dashboard=1), so a dashboard merged to main reaches Grafana on the next apply. NVIDIA's DCGM
# exporter runs on the GPU pools (tolerating their taint) and is scraped through a ServiceMonitor.
locals {
  create     = var.create
  dashboards = local.create ? fileset(var.dashboards_path, "*.json") : toset([])
}

resource "kubernetes_namespace_v1" "this" {
  count = local.create ? 1 : 0

  metadata {
    name   = var.namespace
    labels = { "app.kubernetes.io/part-of" = "ai-platform" }
  }
}

resource "helm_release" "this" {
  count = local.create ? 1 : 0

  name       = "kube-prometheus-stack"
  namespace  = kubernetes_namespace_v1.this[0].metadata[0].name
  repository = "https://prometheus-community.github.io/helm-charts"
  chart      = "kube-prometheus-stack"
  version    = var.kube_prometheus_stack_version
  atomic     = true
  timeout    = 900

  values = [yamlencode({
    commonLabels = { env = var.environment }
    prometheus = {
      prometheusSpec = {
        retention      = var.prometheus_retention
        externalLabels = { env = var.environment }
        # Scrape every ServiceMonitor/PodMonitor/rule in the cluster, not only this release's.
        serviceMonitorSelectorNilUsesHelmValues = false
        podMonitorSelectorNilUsesHelmValues     = false
        ruleSelectorNilUsesHelmValues           = false
        storageSpec = {
          volumeClaimTemplate = {
            spec = {
              accessModes = ["ReadWriteOnce"]
              resources   = { requests = { storage = var.prometheus_storage_size } }
            }
          }
        }
      }
    }
    grafana = {
      # The chart generates the admin password into a Secret; nothing is set from Terraform.
      defaultDashboardsTimezone = "utc"
      sidecar = {
        dashboards = {
          enabled          = true
          label            = "grafana_dashboard"
          labelValue       = "1"
          searchNamespace  = "ALL"
          folderAnnotation = "grafana_folder"
          provider         = { foldersFromFilesStructure = true }
        }
      }
    }
  })]
}

resource "kubernetes_config_map_v1" "dashboard" {
  for_each = local.dashboards

  metadata {
    name        = "dashboard-${lower(replace(trimsuffix(each.value, ".json"), "/[^a-zA-Z0-9-]/", "-"))}"
    namespace   = kubernetes_namespace_v1.this[0].metadata[0].name
    labels      = { grafana_dashboard = "1" }
    annotations = { grafana_folder = "AI platform" }
  }

  data = {
    (basename(each.value)) = file("${var.dashboards_path}/${each.value}")
  }
}

resource "helm_release" "dcgm_exporter" {
  count = local.create && var.enable_dcgm_exporter ? 1 : 0

  name       = "dcgm-exporter"
  namespace  = kubernetes_namespace_v1.this[0].metadata[0].name
  repository = "https://nvidia.github.io/dcgm-exporter/helm-charts"
  chart      = "dcgm-exporter"
  version    = var.dcgm_exporter_version
  atomic     = true

  values = [yamlencode({
    nodeSelector   = var.gpu_node_selector
    tolerations    = [var.gpu_toleration]
    serviceMonitor = { enabled = true, additionalLabels = { env = var.environment } }
  })]

  depends_on = [helm_release.this]
}
