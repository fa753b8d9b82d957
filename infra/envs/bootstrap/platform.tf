# The organisation's values come from platform.yaml, the one file a fork edits (docs/forking.md);
# a variable set explicitly (-var, *.tfvars) still wins. The backend (backend.tf) cannot read locals:
# aip render writes it from the same file.
locals {
  platform                   = yamldecode(file("${path.root}/../../../platform.yaml"))
  organisation               = local.platform.organisation
  region                     = coalesce(var.region, local.organisation.region)
  repository                 = coalesce(var.repository, local.organisation.repository)
  owner                      = coalesce(var.owner, local.organisation.teams.platform)
  cost_center                = coalesce(var.cost_center, local.organisation.cost_center)
  org                        = coalesce(var.org, local.organisation.name)
  break_glass_principal_arns = var.break_glass_principal_arns != null ? var.break_glass_principal_arns : ["arn:aws:iam::${local.organisation.account_id}:role/platform-oncall"]
}
