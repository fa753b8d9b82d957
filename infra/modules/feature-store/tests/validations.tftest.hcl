# `terraform test` of the online store's inputs, run on a stand-in copy (infra_check.py step `test`).
variables {
  name                    = "aip-dev"
  environment             = "dev"
  vpc_id                  = "vpc-0123456789abcdef0"
  subnet_ids              = ["subnet-0123456789abcdef0"]
  allowed_security_groups = { cluster = "sg-0123456789abcdef0" }
  node_type               = "cache.t4g.micro"
  replicas                = 0
  tags                    = { owner = "platform-team", environment = "dev", "cost-center" = "ml-platform" }
}

run "accepts_a_single_node_dev_store" {
  command = plan
}

run "refuses_a_store_nobody_may_reach" {
  command = plan

  variables {
    allowed_security_groups = {}
  }

  expect_failures = [var.allowed_security_groups]
}

run "refuses_more_than_five_replicas" {
  command = plan

  variables {
    replicas = 6
  }

  expect_failures = [var.replicas]
}

run "refuses_a_non_elasticache_node_type" {
  command = plan

  variables {
    node_type = "m7g.large"
  }

  expect_failures = [var.node_type]
}

run "refuses_missing_tags" {
  command = plan

  variables {
    tags = { owner = "platform-team" }
  }

  expect_failures = [var.tags]
}

run "creates_nothing_when_disabled" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = output.replication_group_id == null && output.auth_secret_arn == null
    error_message = "create = false must create no store and no secret."
  }
}
