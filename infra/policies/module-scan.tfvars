# Values checkov uses for a module's own variables when it scans the module without a caller
# (`checkov -d infra/modules/<m> --var-file infra/policies/module-scan.tfvars`), so the policies judge
# real values instead of unresolved references. Roots and examples pass their own values.
environment = "dev"
repository  = "fixture-org/ai-platform"
tags = {
  owner         = "platform-team"
  environment   = "dev"
  "cost-center" = "ml-platform"
}
