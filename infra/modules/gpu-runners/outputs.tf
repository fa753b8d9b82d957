output "scale_set_name" {
  description = "Name of the ARC runner scale set (the `runs-on` value for GPU jobs on Kubernetes)."
  value       = try(helm_release.this[0].name, null)
}

output "asg_name" {
  description = "Name of the GPU VM autoscaling group (null unless `create_asg`)."
  value       = try(aws_autoscaling_group.this[0].name, null)
}

output "asg_role_arn" {
  description = "IAM role of the GPU VMs."
  value       = try(aws_iam_role.asg[0].arn, null)
}

output "runner_labels" {
  description = "Labels the Ansible-configured VM runners register with (platform.yaml's runner labels)."
  value       = try(local.runner_labels, null)
}

output "runner_image" {
  description = "Pinned runner image of the ARC scale set."
  value       = try(var.arc_runner_image, null)
}

output "asg_user_data_sha256" {
  description = "sha256 of the VMs' rendered boot script (changes roll the launch template)."
  value       = try(sha256(local.user_data), null)
}
