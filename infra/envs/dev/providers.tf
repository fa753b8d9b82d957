provider "aws" {
  region = local.region

  # Every taggable resource gets owner, environment and cost-center, even one a module forgets.
  default_tags {
    tags = module.context.tags
  }
}

# The cluster is created in this same root: the very first apply runs with
# `-var install_platform_releases=false` (AWS only), then a full apply (see infra/README.md).
# The API endpoint is private: CI reaches it through an SSM port forward on 127.0.0.1:<port>, keeping
# the endpoint's name for TLS (docs/adr/0015-ci-roles-and-cluster-access.md).
locals {
  kube_host       = var.kube_api_tunnel_port == null ? module.platform.cluster_endpoint : "https://127.0.0.1:${var.kube_api_tunnel_port}"
  kube_tls_server = var.kube_api_tunnel_port == null ? null : trimprefix(module.platform.cluster_endpoint, "https://")
}
provider "kubernetes" {
  host                   = local.kube_host
  tls_server_name        = local.kube_tls_server
  cluster_ca_certificate = base64decode(module.platform.cluster_certificate_authority_data)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.platform.cluster_name, "--region", local.region]
  }
}

provider "helm" {
  kubernetes = {
    host                   = local.kube_host
    tls_server_name        = local.kube_tls_server
    cluster_ca_certificate = base64decode(module.platform.cluster_certificate_authority_data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.platform.cluster_name, "--region", local.region]
    }
  }
}
