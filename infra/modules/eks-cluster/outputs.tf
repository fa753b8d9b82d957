output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = try(aws_eks_cluster.this[0].name, null)
}

output "cluster_arn" {
  description = "ARN of the EKS cluster."
  value       = try(aws_eks_cluster.this[0].arn, null)
}

output "cluster_endpoint" {
  description = "HTTPS endpoint of the Kubernetes API server."
  value       = try(aws_eks_cluster.this[0].endpoint, null)
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the API server, for provider and kubeconfig setup."
  value       = try(aws_eks_cluster.this[0].certificate_authority[0].data, null)
}

output "cluster_security_group_id" {
  description = "Security group EKS created for the control plane and managed nodes."
  value       = try(aws_eks_cluster.this[0].vpc_config[0].cluster_security_group_id, null)
}

output "oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider for IRSA (null when `enable_irsa` is false)."
  value       = try(aws_iam_openid_connect_provider.this[0].arn, null)
}

output "oidc_issuer" {
  description = "OIDC issuer host/path without https://, as IRSA trust conditions use it."
  value       = try(replace(aws_eks_cluster.this[0].identity[0].oidc[0].issuer, "https://", ""), null)
}

output "node_role_arn" {
  description = "IAM role assumed by every node."
  value       = try(aws_iam_role.node[0].arn, null)
}

output "gpu_node_selector" {
  description = "Node selector that schedules pods onto the GPU pools."
  value       = try({ "nvidia.com/gpu.present" = "true" }, null)
}

output "gpu_toleration" {
  description = "Toleration GPU pods need for the GPU pools' taint."
  value       = try({ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }, null)
}

output "karpenter_node_role_name" {
  description = "IAM role of the nodes Karpenter launches (the EC2NodeClass `role`)."
  value       = try(aws_iam_role.karpenter_node[0].name, null)
}

output "karpenter_interruption_queue" {
  description = "SQS queue name for Karpenter's `settings.interruptionQueue`."
  value       = try(aws_sqs_queue.karpenter[0].name, null)
}

output "karpenter_controller_role_arn" {
  description = "IAM role of the Karpenter controller (bound by Pod Identity to kube-system/karpenter)."
  value       = try(aws_iam_role.karpenter_controller[0].arn, null)
}
