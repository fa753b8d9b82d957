variable "create" {
  description = "Whether to create any resource at all."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name prefix, e.g. `aip-dev`; the database is `<name>-mlflow`."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the database subnet group (two zones or more)."
  type        = list(string)
}

variable "allowed_security_groups" {
  description = "Security groups allowed to reach Postgres on 5432, by a name known at plan time (e.g. { cluster = <the cluster's security group id> }): the keys decide the rules, so the IDs may be unknown until apply."
  type        = map(string)
}

variable "postgres_version" {
  description = "PostgreSQL engine version."
  type        = string
  default     = "17"
}

variable "instance_class" {
  description = "RDS instance class, e.g. db.t4g.micro for dev, db.m7g.large for prod."
  type        = string
  default     = "db.t4g.small"
}

variable "allocated_storage_gib" {
  description = "Initial storage in GiB; autoscaling may grow it to `max_allocated_storage_gib`."
  type        = number
  default     = 20
}

variable "max_allocated_storage_gib" {
  description = "Upper bound for storage autoscaling in GiB."
  type        = number
  default     = 100
}

variable "multi_az" {
  description = "Whether to run a standby in a second zone (prod: true)."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days automated backups are kept (1-35)."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "Backups are required: retention must be between 1 and 35 days."
  }
}

variable "deletion_protection" {
  description = "Whether the database refuses deletion (must be true in prod)."
  type        = bool
  default     = true
}

variable "environment" {
  description = "Environment name; prod enforces deletion protection and a final snapshot."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of: dev, staging, prod."
  }
}

variable "artifact_bucket_arn" {
  description = "ARN of the bucket holding MLflow artifacts (the object-storage module's bucket)."
  type        = string
}

variable "artifact_kms_key_arn" {
  description = "ARN of the KMS key encrypting the artifact bucket (SSE-KMS, the object-storage module's key)."
  type        = string
}

variable "artifact_root" {
  description = "Default artifact root the server hands to clients, e.g. `s3://aip-dev-mlflow-artifacts/mlflow`."
  type        = string
}

variable "oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster (IRSA) for the server's service account role."
  type        = string
}

variable "oidc_issuer" {
  description = "Cluster OIDC issuer without https://, used in the IRSA trust condition."
  type        = string
}

variable "enable_kubernetes_wiring" {
  description = "Whether to create the namespace, the server's and External Secrets' IRSA service accounts and the config map the k8s MLflow Deployment reads."
  type        = bool
  default     = true
}

variable "kubernetes_namespace" {
  description = "Namespace of the MLflow server (infra/k8s/mlflow expects `mlflow`)."
  type        = string
  default     = "mlflow"
}

variable "tags" {
  description = "Tags for every taggable resource; must include owner, environment and cost-center."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["owner", "environment", "cost-center"] : contains(keys(var.tags), k)])
    error_message = "The tags must include owner, environment and cost-center."
  }
}
