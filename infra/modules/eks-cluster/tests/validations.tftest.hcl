# `terraform test` of the cluster inputs, run on a stand-in copy (infra_check.py step `test`).
variables {
  name       = "aip-test"
  vpc_id     = "vpc-0123456789abcdef0"
  subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  tags       = { owner = "platform-team", environment = "dev", "cost-center" = "ml-platform" }
  access_entries = {
    apply  = { principal_arn = "arn:aws:iam::111122223333:role/aip-github-dev-apply", policy = "cluster-admin" }
    deploy = { principal_arn = "arn:aws:iam::111122223333:role/aip-github-dev-deploy", policy = "edit", namespaces = ["ml-serving"] }
  }
  enable_karpenter = true
}

run "plans_with_karpenter_and_access_entries" {
  command = plan

  assert {
    condition     = output.gpu_toleration.key == "nvidia.com/gpu"
    error_message = "GPU pods tolerate the nvidia.com/gpu taint."
  }
}

run "refuses_an_unknown_access_policy" {
  command = plan

  variables {
    access_entries = { ops = { principal_arn = "arn:aws:iam::111122223333:role/ops", policy = "root" } }
  }

  expect_failures = [var.access_entries]
}

run "refuses_a_public_endpoint_open_to_the_world" {
  command = plan

  variables {
    endpoint_public_access = true
    public_access_cidrs    = ["0.0.0.0/0"]
  }

  expect_failures = [var.public_access_cidrs]
}

run "refuses_a_gpu_pool_with_min_above_max" {
  command = plan

  variables {
    gpu_node_pools = { gpu = { instance_types = ["g5.xlarge"], min_size = 2, max_size = 1 } }
  }

  expect_failures = [var.gpu_node_pools]
}

run "plans_an_access_entry_with_kubernetes_groups" {
  command = plan

  variables {
    access_entries = {
      deploy = { principal_arn = "arn:aws:iam::111122223333:role/aip-github-dev-deploy", policy = "edit", namespaces = ["ml-serving"], kubernetes_groups = ["aip:trainjob-submitters"] }
    }
  }
}

run "refuses_a_system_kubernetes_group" {
  command = plan

  variables {
    access_entries = {
      deploy = { principal_arn = "arn:aws:iam::111122223333:role/aip-github-dev-deploy", kubernetes_groups = ["system:masters"] }
    }
  }

  expect_failures = [var.access_entries]
}
