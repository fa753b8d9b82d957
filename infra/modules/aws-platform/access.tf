# How CI reaches the private EKS endpoint (docs/adr/0015-ci-roles-and-cluster-access.md): a small
# SSM-managed host in a private subnet with no inbound rule and no SSH key. An apply or plan job
# assumes its role, opens `aws ssm start-session --document-name
# AWS-StartPortForwardingSessionToRemoteHost` through it to the endpoint's port 443, and points the
# kubernetes/helm providers at https://127.0.0.1:<port> with tls_server_name = the endpoint host.
data "aws_ssm_parameter" "tunnel_ami" {
  count = var.enable_api_tunnel ? 1 : 0

  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
}

data "aws_iam_policy_document" "tunnel_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "tunnel" {
  count = var.enable_api_tunnel ? 1 : 0

  name_prefix        = "${local.id}-tunnel-"
  assume_role_policy = data.aws_iam_policy_document.tunnel_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "tunnel" {
  count = var.enable_api_tunnel ? 1 : 0

  role       = aws_iam_role.tunnel[0].name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "tunnel" {
  count = var.enable_api_tunnel ? 1 : 0

  name_prefix = "${local.id}-tunnel-"
  role        = aws_iam_role.tunnel[0].name
  tags        = var.tags
}

resource "aws_security_group" "tunnel" {
  count = var.enable_api_tunnel ? 1 : 0

  name_prefix = "${local.id}-tunnel-"
  description = "SSM port-forward host to the private EKS API: no inbound, HTTPS out only"
  vpc_id      = module.network.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_egress_rule" "tunnel_https" {
  count = var.enable_api_tunnel ? 1 : 0

  security_group_id = aws_security_group.tunnel[0].id
  description       = "HTTPS to the SSM endpoints (through NAT) and the EKS API"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "api_from_tunnel" {
  count = var.enable_api_tunnel ? 1 : 0

  security_group_id            = module.eks.cluster_security_group_id
  description                  = "Kubernetes API from the SSM tunnel host"
  referenced_security_group_id = aws_security_group.tunnel[0].id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
}

resource "aws_instance" "tunnel" {
  count = var.enable_api_tunnel ? 1 : 0

  ami                    = data.aws_ssm_parameter.tunnel_ami[0].value
  instance_type          = "t4g.nano"
  subnet_id              = module.network.private_subnet_ids[0]
  vpc_security_group_ids = [aws_security_group.tunnel[0].id]
  iam_instance_profile   = aws_iam_instance_profile.tunnel[0].name
  monitoring             = true
  ebs_optimized          = true

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }

  root_block_device {
    encrypted   = true
    volume_type = "gp3"
  }

  # The SSM IAM conditions (roles.tf) find the host by this tag.
  tags = merge(var.tags, { Name = "${local.id}-eks-tunnel", "aip-eks-tunnel" = local.id })

  lifecycle {
    ignore_changes = [ami] # a new AMI comes with a deliberate replace, not every plan
  }
}
