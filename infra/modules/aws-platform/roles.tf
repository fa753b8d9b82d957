# What each GitHub role may do (module.github_oidc) and who reaches the cluster (module.eks access
# entries). Everything here is built from inputs and names, never from attributes AWS returns, so
# the roles' keys and ARNs are known on the first plan.
locals {
  region        = data.aws_region.current.region
  cluster_arn   = "arn:aws:eks:${local.region}:${local.account_id}:cluster/${local.id}"
  role_arn      = "arn:aws:iam::${local.account_id}:role"
  state_bucket  = "arn:aws:s3:::${var.state_bucket}"
  other_envs    = [for e in ["dev", "staging", "prod"] : e if e != var.environment]
  samples_paths = ["${local.artifact_bucket_arn}/samples/${var.environment}/*"]

  # The kube API is private: jobs reach it through an SSM port forward to the tunnel host (access.tf).
  tunnel_statements = [
    {
      sid        = "StartApiTunnel"
      actions    = ["ssm:StartSession"]
      resources  = ["arn:aws:ec2:${local.region}:${local.account_id}:instance/*"]
      conditions = [{ test = "StringEquals", variable = "ssm:resourceTag/aip-eks-tunnel", values = [local.id] }]
    },
    {
      sid       = "UsePortForwardDocument"
      actions   = ["ssm:StartSession"]
      resources = ["arn:aws:ssm:${local.region}::document/AWS-StartPortForwardingSessionToRemoteHost"]
    },
    {
      sid       = "EndOwnSessions"
      actions   = ["ssm:TerminateSession", "ssm:ResumeSession"]
      resources = ["arn:aws:ssm:${local.region}:${local.account_id}:session/$${aws:userid}-*"]
    },
    {
      sid       = "FindTunnelHost"
      actions   = ["ec2:DescribeInstances"]
      resources = ["*"] # DescribeInstances has no resource-level permissions.
    },
  ]

  # Tuning workers (tune.yml): read the training data from the DVC remote, log trials to MLflow's
  # artifacts; no cluster access (the study database is reached over the network, its password a secret).
  tuning_statements = [
    {
      sid       = "ListDataBuckets"
      actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
      resources = [local.artifact_bucket_arn, local.dvc_bucket_arn]
    },
    {
      sid       = "ReadTrainingData"
      actions   = ["s3:GetObject"]
      resources = ["${local.dvc_bucket_arn}/dvc/*"]
    },
    {
      sid       = "ReadWriteTrialArtifacts"
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["${local.artifact_bucket_arn}/mlflow/*"]
    },
    {
      sid        = "UseDataKey"
      actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources  = ["arn:aws:kms:${local.region}:${local.account_id}:key/*"]
      conditions = [{ test = "ForAnyValue:StringEquals", variable = "kms:ResourceAliases", values = [local.registry_key_alias] }]
    },
  ]

  deploy_statements = concat([
    {
      sid       = "ListDataBuckets"
      actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
      resources = [local.artifact_bucket_arn, local.dvc_bucket_arn]
    },
    {
      sid       = "ReadWriteDataObjects"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      resources = ["${local.artifact_bucket_arn}/mlflow/*", "${local.dvc_bucket_arn}/dvc/*"]
    },
    {
      sid        = "UseDataKey"
      actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources  = ["arn:aws:kms:${local.region}:${local.account_id}:key/*"]
      conditions = [{ test = "ForAnyValue:StringEquals", variable = "kms:ResourceAliases", values = [local.registry_key_alias] }]
    },
    {
      sid       = "DescribeCluster"
      actions   = ["eks:DescribeCluster"]
      resources = [local.cluster_arn]
    },
  ], local.tunnel_statements)

  # PowerUserAccess covers everything but IAM; IAM writes are limited to this environment's names.
  apply_statements = concat([
    {
      sid     = "ManageEnvironmentIam"
      actions = ["iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PassRole", "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile", "iam:CreatePolicy", "iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:TagPolicy"]
      resources = [
        "${local.role_arn}/${local.id}-*",
        "${local.role_arn}/${var.name}-github-${var.environment}-*",
        "arn:aws:iam::${local.account_id}:instance-profile/${local.id}-*",
        "arn:aws:iam::${local.account_id}:policy/${local.id}-*",
      ]
    },
    {
      sid       = "ReadIamForRefresh"
      actions   = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:GetInstanceProfile", "iam:ListInstanceProfilesForRole", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:GetOpenIDConnectProvider"]
      resources = ["arn:aws:iam::${local.account_id}:*"]
    },
    {
      sid       = "ManageClusterOidcProvider"
      actions   = ["iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider", "iam:TagOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint"]
      resources = ["arn:aws:iam::${local.account_id}:oidc-provider/oidc.eks.${local.region}.amazonaws.com/*"]
    },
    {
      sid       = "CreateServiceLinkedRoles"
      actions   = ["iam:CreateServiceLinkedRole"]
      resources = ["arn:aws:iam::${local.account_id}:role/aws-service-role/*"]
    },
    {
      sid       = "ReadStateOfThisRoot"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      resources = ["${local.state_bucket}/envs/${var.environment}/*"]
    },
    {
      sid        = "UseStateKey"
      actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources  = ["arn:aws:kms:${local.region}:${local.account_id}:key/*"]
      conditions = [{ test = "ForAnyValue:StringEquals", variable = "kms:ResourceAliases", values = ["alias/s3/${var.state_bucket}"] }]
    },
  ], local.tunnel_statements)

  # drift.yml: reads the environment's prediction samples and the registered reference (artifacts, DVC).
  monitoring_statements = [
    {
      sid       = "ListDataBuckets"
      actions   = ["s3:ListBucket"]
      resources = [local.artifact_bucket_arn, local.dvc_bucket_arn]
    },
    {
      sid       = "ReadSamplesAndReference"
      actions   = ["s3:GetObject"]
      resources = concat(local.samples_paths, ["${local.artifact_bucket_arn}/mlflow/*", "${local.dvc_bucket_arn}/dvc/*"])
    },
    {
      sid        = "DecryptDataKey"
      actions    = ["kms:Decrypt"]
      resources  = ["arn:aws:kms:${local.region}:${local.account_id}:key/*"]
      conditions = [{ test = "ForAnyValue:StringEquals", variable = "kms:ResourceAliases", values = [local.registry_key_alias] }]
    },
  ]

  # Lower environments never write what prod owns: its state, its samples, the registry's bucket
  # policies and configuration (prod hosts them).
  deny_prod_writes = var.environment == "prod" ? [] : [
    {
      sid       = "NoWritesToProd"
      actions   = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketAcl", "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration", "s3:DeleteBucket"]
      resources = ["${local.state_bucket}/envs/prod/*", "${local.artifact_bucket_arn}/samples/prod/*", local.artifact_bucket_arn, local.dvc_bucket_arn]
    },
  ]
  deny_other_states = [
    {
      sid       = "NoOtherRootsState"
      actions   = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
      resources = concat([for e in local.other_envs : "${local.state_bucket}/envs/${e}/*"], ["${local.state_bucket}/bootstrap/*"])
    },
  ]

  # EKS access entries by static name (their ARNs may be unknown until apply; the keys never are).
  # The plan role (infra/envs/bootstrap) reads, including Helm's
  # release secrets; apply administers; deploy edits the serving namespace only; break-glass is an
  # MFA-only role for named people (bootstrap). deploy's group is bound by the TrainJob submitters' Role
  # that `aip cluster setup` applies in the training namespace (docs/cluster-training.md).
  access_entries = {
    apply       = { principal_arn = module.github_oidc.role_arns["${var.environment}-apply"], policy = "cluster-admin" }
    deploy      = { principal_arn = module.github_oidc.role_arns["${var.environment}-deploy"], policy = "edit", namespaces = var.deploy_namespaces, kubernetes_groups = ["aip:trainjob-submitters"] }
    plan        = { principal_arn = "${local.role_arn}/${var.name}-github-plan", policy = "admin-view" }
    break-glass = { principal_arn = "${local.role_arn}/${var.name}-break-glass", policy = "cluster-admin" }
  }
}
