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
  description = "AWS_ROLE_ARN of the GitHub environment `<env>` (deploy.yml): trust pinned to repo + environment."
  value       = try(module.github_oidc.role_arns["${var.environment}-deploy"], null)
}

output "github_apply_role_arn" {
  description = "AWS_ROLE_ARN of the GitHub environment `infra-<env>` (infra.yml apply)."
  value       = try(module.github_oidc.role_arns["${var.environment}-apply"], null)
}

output "github_monitoring_role_arn" {
  description = "AWS_ROLE_ARN of the GitHub environment `<env>-monitoring` (drift.yml)."
  value       = try(module.github_oidc.role_arns["${var.environment}-monitoring"], null)
}

output "api_tunnel_instance_id" {
  description = "SSM target for the port forward to the private Kubernetes API (null without the tunnel)."
  value       = try(aws_instance.tunnel[0].id, null)
}

output "budget_name" {
  description = "The environment's AWS Budget."
  value       = try(module.budgets.budget_name, null)
}

output "gpu_runner_scale_set" {
  description = "ARC scale set name for GPU jobs on Kubernetes."
  value       = try(module.gpu_runners.scale_set_name, null)
}

output "log_group_name" {
  description = "CloudWatch Logs group of the environment's container logs (Fluent Bit's LOG_GROUP_NAME)."
  value       = try(module.log_store.log_group_name, null)
}

output "fluent_bit_role_arn" {
  description = "IRSA role for the Fluent Bit service account (logging/fluent-bit)."
  value       = try(module.log_store.shipper_role_arn, null)
}

output "mlflow_db_secret_arn" {
  description = "RDS-managed, rotated secret of MLflow's database (JSON keys username, password): the ExternalSecret's remoteRef key."
  value       = try(module.mlflow.db_master_secret_arn, null)
}

output "mlflow_db_host" {
  description = "Host of MLflow's Postgres (DB_HOST)."
  value       = try(module.mlflow.db_host, null)
}

output "mlflow_db_port" {
  description = "Port of MLflow's Postgres (DB_PORT)."
  value       = try(module.mlflow.db_port, null)
}

output "mlflow_db_name" {
  description = "Database of MLflow (DB_NAME)."
  value       = try(module.mlflow.db_name, null)
}

output "mlflow_external_secrets_role_arn" {
  description = "IRSA role External Secrets Operator assumes, through the service account mlflow/mlflow-external-secrets, to read the database secret."
  value       = try(module.mlflow.external_secrets_role_arn, null)
}

output "mlflow_auth_secret_arn" {
  description = "Secret of MLflow's own credentials (aip-auth): put its value once, then it is the remoteRef key of infra/k8s/mlflow/externalsecret-auth.yaml."
  value       = try(module.mlflow.auth_secret_arn, null)
}

output "feature_store_endpoint" {
  description = "Primary endpoint host of the Feast online store (TLS, port 6379): platform.yaml's online_store host."
  value       = try(module.feature_store.primary_endpoint, null)
}

output "feature_store_auth_secret_arn" {
  description = "Secrets Manager secret of the online store's AUTH token: copy it into the GitHub secret AIP_REDIS_PASSWORD."
  value       = try(module.feature_store.auth_secret_arn, null)
}

output "study_storage_url" {
  description = "Optuna's study storage URL without the password (platform.yaml's study_storage); null where the environment does not tune."
  value       = try(module.study_store.storage_url, null)
}

output "study_store_secret_arn" {
  description = "Secrets Manager secret of the study database login: copy its password into the GitHub secret AIP_STUDY_STORAGE_PASSWORD."
  value       = try(module.study_store.login_secret_arn, null)
}

output "github_tuning_role_arn" {
  description = "AWS_ROLE_ARN of the GitHub environment `tuning` (tune.yml); null where the environment does not tune."
  value       = try(module.github_oidc.role_arns["${var.environment}-tuning"], null)
}
