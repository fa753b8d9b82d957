# The platform's cluster components: one pinned helm_release per entry of
# infra/k8s/platform/releases.yaml (CRDs and controllers: Karpenter, kube-prometheus-stack, the
# Gateway controller, ...). Keyed by the entry's name, read from a file in the repository, so the
# keys are known on the first plan. The objects that use them (NodePools, StorageClass, Gateway,
# PrometheusRules) are in the kustomize overlays, applied after these releases.
locals {
  releases_dir   = dirname(var.platform_releases_file)
  releases_doc   = yamldecode(file(var.platform_releases_file))
  release_items  = try(local.releases_doc.releases, [])
  releases       = { for r in local.release_items : try(r.name, "") => r }
  release_fields = ["name", "namespace", "repository", "chart", "version", "values"]
  release_problems = flatten([
    for i, r in local.release_items : [
      for f in local.release_fields : "releases[${i}].${f}" if try(tostring(r[f]), "") == ""
    ]
  ])
  # Where an environment differs (e.g. Milvus standalone in dev, cluster in prod): an optional
  # values/<name>.<environment>.yaml beside the release's values file, passed after it.
  release_env_values = {
    for name, r in local.releases : name => "${local.releases_dir}/${dirname(try(r.values, "values/none"))}/${name}.${var.environment}.yaml"
  }
  release_values = {
    for name, r in local.releases : name => concat(
      [file("${local.releases_dir}/${r.values}")],
      fileexists(local.release_env_values[name]) ? [file(local.release_env_values[name])] : [],
    )
  }
  # Per-cluster values set by Terraform (the rest come from the release's values file).
  release_sets = {
    karpenter = {
      "settings.clusterName"       = module.eks.cluster_name
      "settings.interruptionQueue" = module.eks.karpenter_interruption_queue
    }
    # Fluent Bit ships the containers' ECS lines to the environment's log group with its IRSA role.
    "fluent-bit" = {
      "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn" = module.log_store.shipper_role_arn
      "env[0].value"                                              = data.aws_region.current.region
      "env[1].value"                                              = module.log_store.log_group_name
    }
  }
}

resource "helm_release" "platform" {
  for_each = var.install_platform_releases ? local.releases : {}

  name             = each.key
  namespace        = each.value.namespace
  create_namespace = true
  repository       = each.value.repository
  chart            = each.value.chart
  version          = each.value.version
  values           = local.release_values[each.key]
  set              = [for k, v in lookup(local.release_sets, each.key, {}) : { name = k, value = v }]
  atomic           = true
  timeout          = 900

  lifecycle {
    precondition {
      condition     = length(local.release_problems) == 0 && length(local.releases) == length(local.release_items)
      error_message = "${var.platform_releases_file}: every entry under `releases:` needs a unique name and non-empty ${join(", ", local.release_fields)}; missing: ${join(", ", local.release_problems)}."
    }
  }

  # The controllers run on the CPU node group and need the cluster's add-ons and IAM in place.
  depends_on = [module.eks]
}
