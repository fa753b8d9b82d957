# The organisation's values come from platform.yaml, the one file a fork edits (docs/forking.md);
# a variable set explicitly (-var, *.tfvars) still wins. The backend (backend.tf) cannot read locals:
# aip render writes it from the same file.
locals {
  platform     = yamldecode(file("${path.root}/../../../platform.yaml"))
  organisation = local.platform.organisation
  region       = coalesce(var.region, local.organisation.region)
  repository   = coalesce(var.repository, local.organisation.repository)
  owner        = coalesce(var.owner, local.organisation.teams.platform)
  cost_center  = coalesce(var.cost_center, local.organisation.cost_center)
  # The platform team's mailbox under the organisation's domain unless budget_emails names others.
  budget_emails = var.budget_emails != null ? var.budget_emails : ["${local.organisation.teams.platform}@${local.organisation.domain}"]
  # platform.yaml's artifact_store and dvc_remote (s3://<bucket>/<prefix>), shared by every environment.
  artifact_bucket = split("/", trimprefix(local.platform.environments.dev.artifact_store, "s3://"))[0]
  dvc_bucket      = split("/", trimprefix(local.platform.environments.dev.dvc_remote, "s3://"))[0]
  # infra/envs/bootstrap's state bucket.
  state_bucket = "${local.organisation.name}-aip-tfstate"
}
