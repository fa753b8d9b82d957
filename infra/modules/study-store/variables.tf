variable "create" {
  description = "Whether to create any resource at all (true in the environments that tune)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name prefix, e.g. `aip-dev`; the database instance is `<name>-optuna`."
  type        = string
}

variable "environment" {
  description = "Environment name; prod enforces deletion protection and a final snapshot."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of: dev, staging, prod."
  }
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the database subnet group (two zones or more, as RDS requires)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "RDS needs a subnet group over at least two zones: pass two or more private subnets."
  }
}

variable "allowed_security_groups" {
  description = "Security groups allowed to reach Postgres on 5432, by a name known at plan time (e.g. { cluster = <the cluster's security group id> }): the keys decide the rules, so the IDs may be unknown until apply."
  type        = map(string)

  validation {
    condition     = length(var.allowed_security_groups) >= 1
    error_message = "Name at least one security group (the cluster's): the tuning workers run there."
  }
}

variable "postgres_version" {
  description = "PostgreSQL engine version (Optuna's RDBStorage supports every supported Postgres)."
  type        = string
  default     = "17"
}

variable "instance_class" {
  description = "RDS instance class: a study's writes are small (one row per trial and step), db.t4g.micro serves a few dozen workers."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "The instance class must be an RDS class (db.<family>.<size>)."
  }
}

variable "allocated_storage_gib" {
  description = "Initial storage in GiB; autoscaling may grow it to `max_allocated_storage_gib`."
  type        = number
  default     = 20
}

variable "max_allocated_storage_gib" {
  description = "Upper bound for storage autoscaling in GiB."
  type        = number
  default     = 50
}

variable "multi_az" {
  description = "Whether to run a standby in a second zone."
  type        = bool
  default     = false
}

variable "backup_retention_days" {
  description = "Days automated backups are kept (1-35): studies are the record of what was tried."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "Backups are required: retention must be between 1 and 35 days."
  }
}

variable "deletion_protection" {
  description = "Whether the database refuses deletion (forced true in prod)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every taggable resource; must include owner, environment and cost-center."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["owner", "environment", "cost-center"] : contains(keys(var.tags), k)])
    error_message = "The tags must include owner, environment and cost-center."
  }
}
