output "vpc_id" {
  description = "ID of the VPC."
  value       = try(aws_vpc.this[0].id, null)
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR block of the VPC."
  value       = try(aws_vpc.this[0].cidr_block, null)
}

output "public_subnet_ids" {
  description = "IDs of the public subnets, in zone order."
  value       = try(aws_subnet.public[*].id, null)
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, in zone order."
  value       = try(aws_subnet.private[*].id, null)
}

output "nat_public_ips" {
  description = "Public IPs of the NAT gateways (allow-list them where egress is filtered)."
  value       = try(aws_eip.nat[*].public_ip, null)
}
