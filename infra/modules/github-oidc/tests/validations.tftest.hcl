# `terraform test` of the role inputs, run on a stand-in copy (infra_check.py step `test`): the AWS
# resources are builtin terraform_data there, so only the validations and keys are under test.
variables {
  repository = "fixture-org/ai-platform"
  tags       = { owner = "platform-team", environment = "dev", "cost-center" = "ml-platform" }
  roles = {
    dev-deploy = { environment = "dev" }
    plan       = { pull_request = true }
  }
}

run "trusts_one_exact_subject_per_role" {
  command = plan

  assert {
    condition = output.subjects == {
      dev-deploy = "repo:fixture-org/ai-platform:environment:dev"
      plan       = "repo:fixture-org/ai-platform:pull_request"
    }
    error_message = "Each role trusts exactly its environment, or pull_request for the plan role."
  }
}

run "refuses_a_role_with_both_subjects" {
  command = plan

  variables {
    roles = { broken = { environment = "dev", pull_request = true } }
  }

  expect_failures = [var.roles]
}

run "refuses_a_role_with_no_subject" {
  command = plan

  variables {
    roles = { broken = {} }
  }

  expect_failures = [var.roles]
}

run "refuses_wildcard_actions" {
  command = plan

  variables {
    roles = { dev-deploy = { environment = "dev", statements = [{ sid = "All", actions = ["s3:*"], resources = ["*"] }] } }
  }

  expect_failures = [var.roles]
}

run "refuses_a_repository_wildcard" {
  command = plan

  variables {
    repository = "fixture-org/*"
  }

  expect_failures = [var.repository]
}

run "a_plan_role_may_also_trust_pushes_to_named_branches" {
  command = plan

  variables {
    roles = { plan = { pull_request = true, branches = ["env/dev", "env/prod"] } }
  }

  assert {
    condition = output.trusted_subjects.plan == [
      "repo:fixture-org/ai-platform:pull_request",
      "repo:fixture-org/ai-platform:ref:refs/heads/env/dev",
      "repo:fixture-org/ai-platform:ref:refs/heads/env/prod",
    ]
    error_message = "The plan role trusts pull requests and the pushes to the named branches, nothing else."
  }
}

run "refuses_branches_on_an_environment_role" {
  command = plan

  variables {
    roles = { dev-deploy = { environment = "dev", branches = ["env/dev"] } }
  }

  expect_failures = [var.roles]
}
