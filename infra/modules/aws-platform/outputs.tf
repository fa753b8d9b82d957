output "cluster_name" {
  description = "EKS cluster of the environment (`aws eks update-kubeconfig --name <this>`)."
  value       = try(module.eks.cluster_name, null)
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint, for the kubernetes and helm providers."
  value       = try(module.eks.cluster_endpoint, null)
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA of the API server, for the kubernetes and helm providers."
  value       = try(module.eks.cluster_certificate_authority_data, null)
}

output "mlflow_artifact_root" {
  description = "Artifact root MLflow uses (s3://.../mlflow)."
  value       = try("s3://${var.artifact_bucket_name}/mlflow", null)
}

output "dvc_remote_url" {
  description = "DVC remote URL for datasets (put it in platform.yaml's environment section)."
  value       = try("s3://${var.dvc_bucket_name}/dvc", null)
}

output "mlflow_db_endpoint" {
  description = "Endpoint of MLflow's Postgres."
  value       = try(module.mlflow.db_endpoint, null)
}

output "github_deploy_role_arn" {
  description = "Role for the GitHub environment's AWS_ROLE_ARN variable (OIDC, trust pinned to repo + environment)."
  value       = try(module.github_oidc.role_arns[var.environment], null)
}

output "gpu_runner_scale_set" {
  description = "ARC scale set name for GPU jobs on Kubernetes."
  value       = try(module.gpu_runners.scale_set_name, null)
}
