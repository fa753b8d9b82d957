# `terraform test` of the budget inputs, run on a stand-in copy (infra_check.py step `test`).
variables {
  name              = "aip-dev"
  environment       = "dev"
  limit_usd         = 1000
  subscriber_emails = ["platform-team@example.org"]
  tags              = { owner = "platform-team", environment = "dev", "cost-center" = "ml-platform" }
}

run "accepts_a_budget" {
  command = plan
}

run "refuses_a_zero_limit" {
  command = plan

  variables {
    limit_usd = 0
  }

  expect_failures = [var.limit_usd]
}

run "refuses_no_subscriber" {
  command = plan

  variables {
    subscriber_emails = []
  }

  expect_failures = [var.subscriber_emails]
}

run "refuses_a_malformed_address" {
  command = plan

  variables {
    subscriber_emails = ["platform-team"]
  }

  expect_failures = [var.subscriber_emails]
}

run "refuses_a_threshold_of_zero" {
  command = plan

  variables {
    thresholds = [0, 80]
  }

  expect_failures = [var.thresholds]
}

run "refuses_tags_without_cost_center" {
  command = plan

  variables {
    tags = { owner = "platform-team", environment = "dev" }
  }

  expect_failures = [var.tags]
}
