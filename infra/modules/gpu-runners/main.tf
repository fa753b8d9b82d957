# Self-hosted GPU runners, two ways:
# 1. actions-runner-controller (ARC): a runner scale set whose pods request nvidia.com/gpu and land on
#    the tainted GPU pool; the pool scales to zero between jobs. Also NVIDIA's device plugin, which
#    every GPU pod (runners, the model server) needs on EKS.
# 2. An autoscaling group of GPU VMs (`create_asg`) that infra/ansible/playbooks/gpu-runner.yml turns
#    into ephemeral JIT runners labelled [self-hosted, linux, x64, gpu] (platform.yaml's runner labels).
#    Each VM configures itself at boot (templates/user-data.sh.tftpl), so ASG replacements register
#    without anyone running Ansible (docs/adr/0016-service-secrets-runners-and-audit.md).
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  arc_namespace = "arc-runners"
  create_asg    = var.create_asg
  # platform.yaml's `runner:` per environment is `aip-<env>-gpu`; the env roots pass name = aip-<env>.
  scale_set_name   = "${var.name}-gpu"
  runner_resources = { limits = { "nvidia.com/gpu" = "1" }, requests = { "nvidia.com/gpu" = "1" } }
  runner_labels    = ["self-hosted", "linux", "x64", "gpu"]
  # The JIT endpoint is per repository: https://github.com/ORG/REPO -> ORG/REPO.
  github_repository = trimprefix(var.github_config_url, "https://github.com/")
  # Extra vars for the playbook: they win over the inventory's group_vars, so the checksum Terraform
  # validated is the one the VM verifies the download against.
  runner_extra_vars = {
    github_runner_repository  = local.github_repository
    github_runner_version     = var.runner_version
    github_runner_checksum    = var.runner_sha256
    github_runner_labels      = local.runner_labels
    github_runner_name_prefix = local.scale_set_name
  }
  user_data = local.create_asg ? templatefile("${path.module}/templates/user-data.sh.tftpl", {
    environment          = var.tags["environment"] # the inventory folder infra/ansible/inventories/<env>
    repository           = local.github_repository
    bootstrap_ref        = var.asg_bootstrap_ref
    token_secret_arn     = coalesce(var.asg_github_token_secret_arn, "unset")
    region               = data.aws_region.current.region
    ansible_core_version = var.asg_ansible_core_version
    extra_vars_json      = jsonencode(local.runner_extra_vars)
  }) : null
}

################################################################################
# Kubernetes: device plugin and ARC
################################################################################

resource "helm_release" "nvidia_device_plugin" {
  count = var.enable_nvidia_device_plugin ? 1 : 0

  name             = "nvidia-device-plugin"
  namespace        = "nvidia-device-plugin"
  create_namespace = true
  repository       = "https://nvidia.github.io/k8s-device-plugin"
  chart            = "nvidia-device-plugin"
  version          = var.nvidia_device_plugin_version
  atomic           = true

  values = [yamlencode({
    nodeSelector = var.gpu_node_selector
    tolerations  = [var.gpu_toleration]
  })]
}

resource "helm_release" "arc_controller" {
  count = var.enable_arc ? 1 : 0

  name             = "arc"
  namespace        = "arc-systems"
  create_namespace = true
  repository       = "oci://ghcr.io/actions/actions-runner-controller-charts"
  chart            = "gha-runner-scale-set-controller"
  version          = var.arc_version
  atomic           = true
}

resource "helm_release" "this" {
  count = var.enable_arc ? 1 : 0

  # Workflows select these runners with `runs-on: <name>-gpu` (ARC scale sets are addressed by name).
  name             = local.scale_set_name
  namespace        = local.arc_namespace
  create_namespace = true
  repository       = "oci://ghcr.io/actions/actions-runner-controller-charts"
  chart            = "gha-runner-scale-set"
  version          = var.arc_version
  atomic           = true

  values = [yamlencode({
    githubConfigUrl    = var.github_config_url
    githubConfigSecret = var.github_config_secret
    runnerScaleSetName = local.scale_set_name
    minRunners         = var.arc_min_runners
    maxRunners         = var.arc_max_runners
    template = {
      spec = {
        nodeSelector = var.gpu_node_selector
        tolerations  = [var.gpu_toleration]
        containers = [{
          name      = "runner"
          image     = var.arc_runner_image
          command   = ["/home/runner/run.sh"]
          resources = local.runner_resources
        }]
      }
    }
  })]

  depends_on = [helm_release.arc_controller, helm_release.nvidia_device_plugin]
}

################################################################################
# Autoscaling group of GPU VMs (configured by Ansible)
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "asg" {
  count = local.create_asg ? 1 : 0

  name_prefix        = "${var.name}-gpu-runner-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "ssm" {
  count = local.create_asg ? 1 : 0

  # Ansible reaches the VMs through SSM Session Manager: no inbound port is open.
  role       = aws_iam_role.asg[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

data "aws_iam_policy_document" "asg" {
  count = local.create_asg ? 1 : 0

  # The boot script reads the GitHub token (JIT runner configs, repository read) from this one secret.
  statement {
    sid       = "ReadRunnerToken"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.asg_github_token_secret_arn]
  }

  dynamic "statement" {
    for_each = var.asg_github_token_kms_key_arn == null ? [] : [var.asg_github_token_kms_key_arn]
    content {
      sid       = "DecryptRunnerToken"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "asg" {
  count = local.create_asg ? 1 : 0

  name   = "gpu-runner-bootstrap"
  role   = aws_iam_role.asg[0].id
  policy = data.aws_iam_policy_document.asg[0].json
}

resource "aws_iam_instance_profile" "asg" {
  count = local.create_asg ? 1 : 0

  name_prefix = "${var.name}-gpu-runner-"
  role        = aws_iam_role.asg[0].name
  tags        = var.tags
}

resource "aws_security_group" "asg" {
  count = local.create_asg ? 1 : 0

  name_prefix = "${var.name}-gpu-runner-"
  description = "GPU runner VMs: no inbound; HTTPS out, HTTP out to the apt mirrors"
  vpc_id      = var.vpc_id
  tags        = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "https" {
  count = local.create_asg ? 1 : 0

  security_group_id = aws_security_group.asg[0].id
  description       = "HTTPS to GitHub, package registries and AWS APIs"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "http" {
  count = local.create_asg ? 1 : 0

  # Ubuntu's and Debian's archives (the EC2 regional mirrors included) are served on plain HTTP; apt
  # verifies every package against the archive's signed Release file, so TLS adds no integrity here.
  security_group_id = aws_security_group.asg[0].id
  description       = "HTTP to the apt mirrors (signed repositories)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  tags              = var.tags
}

resource "aws_launch_template" "asg" {
  count = local.create_asg ? 1 : 0

  name_prefix            = "${var.name}-gpu-runner-"
  image_id               = var.asg_ami_id
  update_default_version = true
  vpc_security_group_ids = [aws_security_group.asg[0].id]
  user_data              = base64encode(local.user_data)

  iam_instance_profile {
    arn = aws_iam_instance_profile.asg[0].arn
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  monitoring {
    enabled = true
  }

  block_device_mappings {
    device_name = "/dev/sda1"
    ebs {
      volume_size           = var.asg_volume_size_gib
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.name}-gpu-runner", role = "gpu-runner" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = var.tags
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", local.github_repository))
      error_message = "VM runners register to a repository: github_config_url must be https://github.com/ORG/REPO, not an organisation."
    }
  }
}

resource "aws_autoscaling_group" "this" {
  count = local.create_asg ? 1 : 0

  name_prefix         = "${var.name}-gpu-runner-"
  min_size            = var.asg_min_size
  max_size            = var.asg_max_size
  vpc_zone_identifier = var.subnet_ids
  health_check_type   = "EC2"

  mixed_instances_policy {
    instances_distribution {
      on_demand_base_capacity                  = 0
      on_demand_percentage_above_base_capacity = var.asg_spot ? 0 : 100
      spot_allocation_strategy                 = "price-capacity-optimized"
    }

    launch_template {
      launch_template_specification {
        launch_template_id = aws_launch_template.asg[0].id
        version            = "$Latest"
      }

      dynamic "override" {
        for_each = var.asg_instance_types
        content {
          instance_type = override.value
        }
      }
    }
  }

  # The required tags are spelled out so policy checks can read them; other tags follow dynamically.
  tag {
    key                 = "owner"
    value               = var.tags["owner"]
    propagate_at_launch = true
  }

  tag {
    key                 = "environment"
    value               = var.tags["environment"]
    propagate_at_launch = true
  }

  tag {
    key                 = "cost-center"
    value               = var.tags["cost-center"]
    propagate_at_launch = true
  }

  dynamic "tag" {
    for_each = { for k, v in merge(var.tags, { Name = "${var.name}-gpu-runner", role = "gpu-runner" }) : k => v if !contains(["owner", "environment", "cost-center"], k) }
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  lifecycle {
    ignore_changes = [desired_capacity]
  }
}
