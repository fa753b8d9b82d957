variable "create" {
  description = "Whether to create any resource at all."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name prefix for the VPC and its parts, e.g. `aip-dev`."
  type        = string
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr, 0))
    error_message = "The cidr must be a valid IPv4 CIDR block."
  }
}

variable "azs" {
  description = "Availability zones to spread subnets over (at least two; EKS requires two)."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2
    error_message = "At least two availability zones are required."
  }
}

variable "public_subnets" {
  description = "CIDRs of public subnets (load balancers, NAT gateways), one per availability zone."
  type        = list(string)
}

variable "private_subnets" {
  description = "CIDRs of private subnets (nodes, databases), one per availability zone."
  type        = list(string)
}

variable "cluster_name" {
  description = "EKS cluster name used in the subnet discovery tags; null leaves them out."
  type        = string
  default     = null
}

variable "enable_nat_gateway" {
  description = "Whether private subnets reach the internet through NAT gateways."
  type        = bool
  default     = true
}

variable "single_nat_gateway" {
  description = "Whether one NAT gateway serves every zone (cheaper, not zone-redundant: dev)."
  type        = bool
  default     = false
}

variable "enable_flow_log" {
  description = "Whether to record VPC flow logs to an encrypted CloudWatch log group."
  type        = bool
  default     = true
}

variable "flow_log_retention_in_days" {
  description = "Retention of the flow log group, in days (365 or more for audit)."
  type        = number
  default     = 365
}

variable "enable_s3_endpoint" {
  description = "Whether to add an S3 gateway endpoint so bucket traffic stays off the NAT gateways."
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
