variable "create" {
  description = "Whether to create any resource at all."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name prefix, e.g. `aip-dev`; the replication group is `<name>-features`."
  type        = string

  validation {
    # ElastiCache: a replication group id is at most 40 characters (the suffix `-features` is 9).
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name))
    error_message = "The name must start with a letter and be at most 31 lowercase letters, digits and dashes."
  }
}

variable "environment" {
  description = "Environment name; prod applies changes in the maintenance window, never immediately."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of: dev, staging, prod."
  }
}

variable "vpc_id" {
  description = "VPC of the online store."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the cache subnet group (one per zone the nodes may use)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "At least one private subnet is needed."
  }
}

variable "allowed_security_groups" {
  description = "Security groups allowed to reach Redis on 6379, by a name known at plan time (e.g. { cluster = <the cluster's security group id> }): the keys decide the rules, so the IDs may be unknown until apply."
  type        = map(string)

  validation {
    condition     = length(var.allowed_security_groups) >= 1
    error_message = "Name at least one security group (the cluster's): nothing else can reach the store."
  }
}

variable "engine_version" {
  description = "Redis OSS engine version (7.1: the last Redis OSS release on ElastiCache; Feast speaks its protocol)."
  type        = string
  default     = "7.1"
}

variable "node_type" {
  description = "Cache node type, e.g. cache.t4g.micro for dev, cache.m7g.large for prod."
  type        = string
  default     = "cache.t4g.small"

  validation {
    condition     = startswith(var.node_type, "cache.")
    error_message = "The node type must be an ElastiCache type (cache.<family>.<size>)."
  }
}

variable "replicas" {
  description = "Read replicas next to the primary (0-5); with one or more the group fails over automatically."
  type        = number
  default     = 1

  validation {
    condition     = var.replicas >= 0 && var.replicas <= 5 && floor(var.replicas) == var.replicas
    error_message = "Replicas must be a whole number from 0 to 5."
  }
}

variable "multi_az" {
  description = "Whether the replicas sit in other zones than the primary (needs replicas >= 1)."
  type        = bool
  default     = true
}

variable "snapshot_retention_days" {
  description = "Days daily snapshots are kept (0 keeps none: the store can be re-materialised from the offline store)."
  type        = number
  default     = 1

  validation {
    condition     = var.snapshot_retention_days >= 0 && var.snapshot_retention_days <= 35
    error_message = "Snapshot retention must be between 0 and 35 days."
  }
}

variable "create_kms_key" {
  description = "Whether to create a customer-managed KMS key for the store and its secret; false uses `kms_key_arn`."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key (e.g. the platform's) when `create_kms_key` is false."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every taggable resource; must include owner, environment and cost-center."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["owner", "environment", "cost-center"] : contains(keys(var.tags), k)])
    error_message = "The tags must include owner, environment and cost-center."
  }
}
