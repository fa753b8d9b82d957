output "cluster_name" {
  description = "EKS cluster (`aws eks update-kubeconfig --name <this>`)."
  value       = module.platform.cluster_name
}

output "mlflow_artifact_root" {
  description = "MLflow artifact root for platform.yaml."
  value       = module.platform.mlflow_artifact_root
}

output "dvc_remote_url" {
  description = "DVC remote for platform.yaml."
  value       = module.platform.dvc_remote_url
}

output "github_deploy_role_arn" {
  description = "Set as the GitHub environment's AWS_ROLE_ARN variable."
  value       = module.platform.github_deploy_role_arn
}

output "gpu_runner_scale_set" {
  description = "runs-on value for GPU jobs on the cluster."
  value       = module.platform.gpu_runner_scale_set
}

output "github_apply_role_arn" {
  description = "Set as AWS_ROLE_ARN of the GitHub environment infra-<env> (infra.yml apply)."
  value       = module.platform.github_apply_role_arn
}

output "github_monitoring_role_arn" {
  description = "Set as AWS_ROLE_ARN of the GitHub environment <env>-monitoring (drift.yml)."
  value       = module.platform.github_monitoring_role_arn
}

output "api_tunnel_instance_id" {
  description = "SSM target of the port forward to the private Kubernetes API (infra/README.md)."
  value       = module.platform.api_tunnel_instance_id
}

output "budget_name" {
  description = "The environment's AWS Budget."
  value       = module.platform.budget_name
}

output "cluster_endpoint" {
  description = "The private EKS API endpoint: `aip ci terraform --tunnel` forwards to it through the tunnel host."
  value       = module.platform.cluster_endpoint
}

output "feature_store_endpoint" {
  description = "Feast online store host (TLS, 6379): platform.yaml's online_store."
  value       = module.platform.feature_store_endpoint
}

output "feature_store_auth_secret_arn" {
  description = "Secret of the online store's AUTH token: the GitHub environment secret AIP_REDIS_PASSWORD."
  value       = module.platform.feature_store_auth_secret_arn
}
