# `terraform test` of the context module (no provider: runs offline in `make infra-check`, step `test`).
variables {
  environment = "dev"
  owner       = "platform-team"
  cost_center = "ml-platform"
  repository  = "fixture-org/ai-platform"
}

run "required_tags_win_over_extras" {
  command = plan

  variables {
    tags = { environment = "prod", team = "ml" }
  }

  assert {
    condition     = output.tags.environment == "dev" && output.tags.team == "ml"
    error_message = "Extra tags must not override the required environment tag."
  }

  assert {
    condition     = output.id == "aip-dev" && output.required_tag_keys == tolist(["cost-center", "environment", "owner"])
    error_message = "The id is <name>-<environment> and the required keys are owner, environment, cost-center."
  }

  assert {
    condition     = output.tags.repository == "fixture-org/ai-platform" && output.tags["managed-by"] == "terraform"
    error_message = "The repository and managed-by tags are recorded."
  }
}

run "refuses_an_unknown_environment" {
  command = plan

  variables {
    environment = "qa"
  }

  expect_failures = [var.environment]
}

run "refuses_an_empty_owner" {
  command = plan

  variables {
    owner = "  "
  }

  expect_failures = [var.owner]
}

run "refuses_an_empty_cost_center" {
  command = plan

  variables {
    cost_center = ""
  }

  expect_failures = [var.cost_center]
}

run "refuses_a_repository_that_is_not_org_slash_repo" {
  command = plan

  variables {
    repository = "ai-platform"
  }

  expect_failures = [var.repository]
}

run "refuses_a_name_with_capitals" {
  command = plan

  variables {
    name = "AIP"
  }

  expect_failures = [var.name]
}
