################################################################################
# EBS CSI driver: the add-on with its own role through EKS Pod Identity (the agent add-on is installed
# above), so PersistentVolumeClaims (Prometheus, MLflow's scratch) get gp3 volumes.
################################################################################

data "aws_iam_policy_document" "pod_identity_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ebs_csi" {
  count = local.create && var.enable_ebs_csi_driver ? 1 : 0

  name_prefix        = "${var.name}-ebs-csi-"
  assume_role_policy = data.aws_iam_policy_document.pod_identity_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "ebs_csi" {
  count = local.create && var.enable_ebs_csi_driver ? 1 : 0

  role       = aws_iam_role.ebs_csi[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
}

resource "aws_eks_addon" "ebs_csi" {
  count = local.create && var.enable_ebs_csi_driver ? 1 : 0

  cluster_name                = aws_eks_cluster.this[0].name
  addon_name                  = "aws-ebs-csi-driver"
  resolve_conflicts_on_update = "OVERWRITE"

  pod_identity_association {
    role_arn        = aws_iam_role.ebs_csi[0].arn
    service_account = "ebs-csi-controller-sa"
  }

  tags       = var.tags
  depends_on = [aws_eks_addon.this, aws_iam_role_policy_attachment.ebs_csi]
}

################################################################################
# Karpenter (AWS side). The controller runs on the CPU managed pool and launches the nodes of the
# NodePools in infra/k8s/platform (GPU capacity with the nvidia.com/gpu taint); the Helm release is
# one of the platform releases (aws-platform). Nodes get their own role so its access entry does not
# collide with the one EKS creates for the managed node groups' role.
################################################################################

locals {
  karpenter = local.create && var.enable_karpenter
  # EventBridge patterns Karpenter reacts to (spot interruption, rebalance, health, state change).
  karpenter_events = {
    spot-interruption = { source = ["aws.ec2"], "detail-type" = ["EC2 Spot Instance Interruption Warning"] }
    rebalance         = { source = ["aws.ec2"], "detail-type" = ["EC2 Instance Rebalance Recommendation"] }
    state-change      = { source = ["aws.ec2"], "detail-type" = ["EC2 Instance State-change Notification"] }
    scheduled-change  = { source = ["aws.health"], "detail-type" = ["AWS Health Event"] }
  }
  cluster_arn = "arn:${local.partition}:eks:${local.region}:${local.account_id}:cluster/${var.name}"
}

resource "aws_iam_role" "karpenter_node" {
  count = local.karpenter ? 1 : 0

  # A fixed name: the EC2NodeClass in infra/k8s/platform refers to `<cluster>-karpenter-node`.
  name               = "${var.name}-karpenter-node"
  assume_role_policy = data.aws_iam_policy_document.node_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "karpenter_node" {
  for_each = local.karpenter ? local.node_policies : toset([])

  role       = aws_iam_role.karpenter_node[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

resource "aws_eks_access_entry" "karpenter_node" {
  count = local.karpenter ? 1 : 0

  cluster_name  = aws_eks_cluster.this[0].name
  principal_arn = aws_iam_role.karpenter_node[0].arn
  type          = "EC2_LINUX"
  tags          = var.tags
}

resource "aws_sqs_queue" "karpenter" {
  count = local.karpenter ? 1 : 0

  name                      = "${var.name}-karpenter"
  message_retention_seconds = 300
  sqs_managed_sse_enabled   = true # SSE-SQS: EventBridge can deliver without a grant on a customer key
  tags                      = var.tags
}

data "aws_iam_policy_document" "karpenter_queue" {
  count = local.karpenter ? 1 : 0

  statement {
    sid       = "EventBridgeAndSqsDeliver"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.karpenter[0].arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "sqs.amazonaws.com"]
    }
  }
  statement {
    sid       = "DenyHTTP"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.karpenter[0].arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "karpenter" {
  count = local.karpenter ? 1 : 0

  queue_url = aws_sqs_queue.karpenter[0].url
  policy    = data.aws_iam_policy_document.karpenter_queue[0].json
}

resource "aws_cloudwatch_event_rule" "karpenter" {
  for_each = local.karpenter ? local.karpenter_events : {}

  name_prefix   = "${var.name}-karpenter-"
  description   = "Karpenter interruption handling: ${each.key}"
  event_pattern = jsonencode(each.value)
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "karpenter" {
  for_each = local.karpenter ? local.karpenter_events : {}

  rule = aws_cloudwatch_event_rule.karpenter[each.key].name
  arn  = aws_sqs_queue.karpenter[0].arn
}

# The controller's permissions, after Karpenter v1's reference policy: launches and terminates only
# instances tagged for this cluster, passes only the node role, reads pricing/SSM/EC2 descriptions.
data "aws_iam_policy_document" "karpenter_controller" {
  count = local.karpenter ? 1 : 0

  statement {
    sid       = "ScopedEC2Launch"
    actions   = ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"]
    resources = ["arn:${local.partition}:ec2:${local.region}:*:*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes.io/cluster/${var.name}"
      values   = ["owned"]
    }
  }
  statement {
    sid       = "LaunchFromSharedResources"
    actions   = ["ec2:RunInstances", "ec2:CreateFleet"]
    resources = ["arn:${local.partition}:ec2:${local.region}::image/*", "arn:${local.partition}:ec2:${local.region}::snapshot/*", "arn:${local.partition}:ec2:${local.region}:*:security-group/*", "arn:${local.partition}:ec2:${local.region}:*:subnet/*", "arn:${local.partition}:ec2:${local.region}:*:capacity-reservation/*"]
  }
  statement {
    sid       = "TagOnLaunch"
    actions   = ["ec2:CreateTags"]
    resources = ["arn:${local.partition}:ec2:${local.region}:*:*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes.io/cluster/${var.name}"
      values   = ["owned"]
    }
    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]
    }
  }
  statement {
    sid       = "ManageOwnInstances"
    actions   = ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate", "ec2:CreateTags"]
    resources = ["arn:${local.partition}:ec2:${local.region}:*:instance/*", "arn:${local.partition}:ec2:${local.region}:*:launch-template/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/kubernetes.io/cluster/${var.name}"
      values   = ["owned"]
    }
  }
  statement {
    sid = "ReadOnlyDiscovery"
    actions = [
      "ec2:DescribeAvailabilityZones", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceTypeOfferings",
      "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates", "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory",
      "ec2:DescribeSubnets", "ec2:DescribeCapacityReservations", "pricing:GetProducts",
    ]
    resources = ["*"] # Describe*/pricing calls support no resource-level permissions.
  }
  statement {
    sid       = "ReadAmiParameters"
    actions   = ["ssm:GetParameter"]
    resources = ["arn:${local.partition}:ssm:${local.region}::parameter/aws/service/*"]
  }
  statement {
    sid       = "PassNodeRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.karpenter_node[0].arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }
  statement {
    sid       = "ManageNodeInstanceProfiles"
    actions   = ["iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:instance-profile/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/kubernetes.io/cluster/${var.name}"
      values   = ["owned"]
    }
  }
  statement {
    sid       = "InterruptionQueue"
    actions   = ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
    resources = [aws_sqs_queue.karpenter[0].arn]
  }
  statement {
    sid       = "DescribeCluster"
    actions   = ["eks:DescribeCluster"]
    resources = [local.cluster_arn]
  }
}

resource "aws_iam_role" "karpenter_controller" {
  count = local.karpenter ? 1 : 0

  name_prefix        = "${var.name}-karpenter-"
  assume_role_policy = data.aws_iam_policy_document.pod_identity_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "karpenter_controller" {
  count = local.karpenter ? 1 : 0

  name   = "karpenter-controller"
  role   = aws_iam_role.karpenter_controller[0].id
  policy = data.aws_iam_policy_document.karpenter_controller[0].json
}

resource "aws_eks_pod_identity_association" "karpenter" {
  count = local.karpenter ? 1 : 0

  cluster_name    = aws_eks_cluster.this[0].name
  namespace       = var.karpenter_namespace
  service_account = "karpenter"
  role_arn        = aws_iam_role.karpenter_controller[0].arn
  tags            = var.tags
}

# The EC2NodeClass finds the node security group (the cluster security group EKS creates) by this tag.
resource "aws_ec2_tag" "karpenter_discovery" {
  count = local.karpenter ? 1 : 0

  resource_id = aws_eks_cluster.this[0].vpc_config[0].cluster_security_group_id
  key         = "karpenter.sh/discovery"
  value       = var.name
}
