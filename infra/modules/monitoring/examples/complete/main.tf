# The monitoring stack with one example dashboard; environment roots point `dashboards_path` at the
# repository's dashboards/rendered folder.
provider "kubernetes" {
  config_path = "~/.kube/config"
}

provider "helm" {
  kubernetes = {
    config_path = "~/.kube/config"
  }
}

module "monitoring" {
  source = "../../"

  environment     = "dev"
  dashboards_path = "${path.module}/dashboards"
}

output "dashboards" {
  description = "Dashboards the example provisions."
  value       = module.monitoring.dashboards
}
