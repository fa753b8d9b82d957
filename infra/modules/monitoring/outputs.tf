output "namespace" {
  description = "Namespace of the monitoring stack."
  value       = try(kubernetes_namespace_v1.this[0].metadata[0].name, null)
}

output "dashboards" {
  description = "Dashboard files provisioned into Grafana, relative to `dashboards_path`."
  value       = try(sort(tolist(local.dashboards)), null)
}

output "grafana_service" {
  description = "In-cluster Grafana service (port-forward to reach it: kubectl -n monitoring port-forward svc/kube-prometheus-stack-grafana 3000:80)."
  value       = try("${helm_release.this[0].name}-grafana.${var.namespace}.svc", null)
}
