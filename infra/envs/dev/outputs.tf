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
