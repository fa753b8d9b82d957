# `terraform test` of the study store's inputs, run on a stand-in copy (infra_check.py step `test`).
variables {
  name                    = "aip-dev"
  environment             = "dev"
  vpc_id                  = "vpc-0123456789abcdef0"
  subnet_ids              = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  allowed_security_groups = { cluster = "sg-0123456789abcdef0" }
  tags                    = { owner = "platform-team", environment = "dev", "cost-center" = "ml-platform" }
}

run "accepts_a_dev_study_store" {
  command = plan
}

run "refuses_a_single_subnet" {
  command = plan

  variables {
    subnet_ids = ["subnet-0123456789abcdef0"]
  }

  expect_failures = [var.subnet_ids]
}

run "refuses_a_database_nobody_may_reach" {
  command = plan

  variables {
    allowed_security_groups = {}
  }

  expect_failures = [var.allowed_security_groups]
}

run "refuses_no_backups" {
  command = plan

  variables {
    backup_retention_days = 0
  }

  expect_failures = [var.backup_retention_days]
}

run "refuses_a_non_rds_class" {
  command = plan

  variables {
    instance_class = "t4g.micro"
  }

  expect_failures = [var.instance_class]
}

run "creates_nothing_when_disabled" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = output.storage_url == null && output.login_secret_arn == null
    error_message = "create = false must create no database and no secret."
  }
}
