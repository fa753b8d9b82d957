"""infra.yml and dashboards.yml on a push to env/dev, run for real by nektos/act.

Both once used the branch name as the environment: `infra/envs/env/dev` (so the apply never ran) and a
GitHub environment called `env/dev`. Now `aip ci plan --env` names the environment (`dev`), and the
jobs run in it. The push changes a file under infra/envs/dev/ and one under dashboards/; the saved-plan
job (the plan that the gated apply job applies) reaches `aip ci require AWS_PLAN_ROLE_ARN`, skips the
cloud steps with a notice and says nothing was planned, so the apply job does not run (no Terraform
providers can be downloaded here: terraform itself is covered by `make infra-check`, tests/infra, and
`aip ci terraform apply --plan` by tests/gitops/test_terraform_steps.py); the publish job
re-renders the dashboards and posts them to a stand-in for Grafana's API with the environment's secrets.

What act does not emulate: `on.push.paths`/`branches` filters (the workflow runs for any push; the
`if:` conditions still decide), GitHub environments' protection rules and per-environment secrets
(`--secret` reaches every job), `concurrency`, `permissions` (house rules AIP002/AIP009 and zizmor:
tests/workflows/test_workflow_rules.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.act import act_repo, promote, push, push_event, run_act
from tests.support.git import git
from tests.support.grafana import GrafanaStandIn, grafana_stand_in

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture
def grafana() -> Iterator[GrafanaStandIn]:
    with grafana_stand_in() as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """env/dev moved to a main commit that changes infra/envs/dev and a dashboard."""
    base = tmp_path_factory.mktemp("act-env")
    repo = act_repo(base / "repo")
    before = git(repo, "rev-parse", "env/dev")
    main_tf = repo / "infra" / "envs" / "dev" / "main.tf"
    main_tf.write_text(main_tf.read_text() + "\n# a comment: the dev root changed\n")
    dashboard = repo / "dashboards" / "README.md"
    dashboard.write_text(dashboard.read_text() + "\nA line.\n")
    git(repo, "commit", "-qam", "dev root and dashboards: a comment")
    push(repo, "main")
    promote(repo, "env/dev", "main")
    return repo, push_event(repo, "env/dev", before=before)


def test_infra_applies_the_dev_root_in_the_dev_environment(pushed, tmp_path: Path):
    repo, event = pushed
    run = run_act(repo, "infra.yml", "push", event, scratch=tmp_path)
    assert set(run.results.get("plan-roots", [])) == {"success"}, run.tail()
    assert "::set-output:: environment=dev" in run.output("plan-roots")
    assert run.results.get("saved-plan") == ["success"], (run.results, run.tail())
    assert "plan" not in run.results  # the PR-only plan job
    planned = run.output("saved-plan")
    assert "skipped, this repository has not configured AWS_PLAN_ROLE_ARN" in planned, planned[-3000:]
    assert "apply" not in run.results  # nothing planned: nothing for the reviewers to approve
    print(f"infra.yml under act: {run.seconds:.0f} s")


def test_dashboards_publish_to_the_dev_environment_with_its_secrets(
    pushed, tmp_path: Path, grafana: GrafanaStandIn
):
    repo, event = pushed
    run = run_act(
        repo,
        "dashboards.yml",
        "push",
        event,
        scratch=tmp_path,
        secrets={"GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": "glsa_test"},
    )
    assert run.results.get("plan") == ["success"], (run.results, run.tail())
    assert run.results.get("publish") == ["success"], (run.results, run.tail())
    assert "render" not in run.results  # the PR-only re-render check
    assert "::set-output:: environment=dev" in run.output("plan")
    assert grafana.received, run.output("publish")
    assert {auth for _, _, auth in grafana.received} == {"Bearer glsa_test"}
    print(f"dashboards.yml under act: {run.seconds:.0f} s")
