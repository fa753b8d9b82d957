"""The `aip ci` helpers that workflow steps call: outputs, the required check, notices, the PR comment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.cli.usage import usage_problem
from pipelines.gitops.comment import MARKER, load_rows, render
from pipelines.gitops.workflows import check_commands
from tests.support.cli import run_aip
from tests.support.git import git
from tests.support.grafana import GrafanaStandIn, grafana_stand_in
from tests.support.repo import REPO_ROOT, make_repo_copy

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))


def outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_plan_of_a_pull_request_lists_the_affected_models(tmp_path: Path):
    root = make_repo_copy(tmp_path / "repo")
    card = root / "models" / "tumor-classifier" / "model.yaml"
    card.write_text(card.read_text().replace("description:", "description: changed;", 1))
    out = tmp_path / "out"
    out.write_text("")
    result = run_aip(root, "ci", "plan", "--base", "main", env={"GITHUB_OUTPUT": str(out)})
    assert result.returncode == 0, result.stderr
    values = outputs(out)
    assert json.loads(values["matrix"]) == {
        "include": [{"model": "tumor-classifier", "dataset": "breast-cancer"}]
    }
    assert values["models"] == "true" and values["infra"] == "false"
    assert "environment" not in values


def test_plan_of_an_environment_lists_every_model_its_scale_set_and_whether_it_trains(tmp_path: Path):
    """Deploys are level-based: every model, whatever changed (deploy.yml's matrix)."""
    root = make_repo_copy(tmp_path / "repo")
    out = tmp_path / "out"
    out.write_text("")
    result = run_aip(
        root, "ci", "plan", "--base", "main", "--env", "env/prod", env={"GITHUB_OUTPUT": str(out)}
    )
    assert result.returncode == 0, result.stderr
    values = outputs(out)
    assert {m["model"] for m in json.loads(values["matrix"])["include"]} == {
        "tumor-classifier",
        "topic-classifier",
    }
    assert values["models"] == "true"
    assert json.loads(values["runner"]) == "aip-prod-gpu"  # runs-on: the ARC scale set, by name
    assert values["environment"] == "prod" and values["next_environment"] == ""
    assert values["train"] == "false" and values["requires_approval"] == "true"
    out.write_text("")
    run_aip(root, "ci", "plan", "--env", "dev", env={"GITHUB_OUTPUT": str(out)})
    values = outputs(out)
    assert values["train"] == "true" and values["next_environment"] == "staging"


def test_needs_ok_passes_skipped_jobs_and_fails_on_a_failure():
    skipped = json.dumps({"lint": {"result": "success"}, "smoke": {"result": "skipped"}})
    assert run_aip(REPO_ROOT, "ci", "needs-ok", env={"NEEDS": skipped}).returncode == 0
    failed = json.dumps({"lint": {"result": "success"}, "test": {"result": "failure"}})
    result = run_aip(REPO_ROOT, "ci", "needs-ok", env={"NEEDS": failed})
    assert result.returncode == 1
    assert "job `test` ended `failure`" in result.stderr


def test_require_says_what_is_missing_and_sets_configured(tmp_path: Path):
    out = tmp_path / "out"
    out.write_text("")
    env = {"GITHUB_OUTPUT": str(out), "AWS_ROLE_ARN": ""}
    result = run_aip(REPO_ROOT, "ci", "require", "AWS_ROLE_ARN", "--for", "terraform plan", env=env)
    assert result.returncode == 0
    assert (
        "::notice::terraform plan: skipped, this repository has not configured AWS_ROLE_ARN" in result.stderr
    )
    assert outputs(out) == {"configured": "false"}


def test_comment_shows_metrics_and_the_difference_from_the_champion(tmp_path: Path):
    (tmp_path / "ci").mkdir()
    summary = {
        "env": "local",
        "models": [
            {
                "model": "tumor-classifier",
                "status": "smoke: gates passed",
                "fingerprint": "abc",
                "gates": "7/7 passed",
                "metrics": {"accuracy": 0.95, "log_loss": 0.12},
                "seconds": {"train": 3.0},
                "smoke": True,
            },
        ],
    }
    (tmp_path / "ci" / "smoke.json").write_text(json.dumps(summary))
    report = tmp_path / "reports" / "local" / "tumor-classifier"
    report.mkdir(parents=True)
    (report / "report.md").write_text(
        "# Evaluation\n\n## Metrics (test split)\n\n"
        "| metric | better | candidate | champion (v3 (@local)) | difference |\n"
        "| --- | --- | --- | --- | --- |\n| accuracy | higher | 0.9500 | 0.9300 | +0.0200 ▲ |\n"
        "| log_loss | lower | 0.1200 | 0.1000 | +0.0200 ▼ |\n\n## Gates\n\n| result | gate |\n| --- | --- |\n"
    )
    markdown = render(load_rows(tmp_path / "ci", tmp_path / "reports"))
    assert markdown.startswith(MARKER)
    assert "| metric | candidate | champion v3 (@local) | difference |" in markdown
    assert "| accuracy | 0.9500 | 0.9300 | +0.0200 ▲ better |" in markdown
    assert "| log_loss | 0.1200 | 0.1000 | +0.0200 ▼ worse |" in markdown
    assert "gates are shown, not enforced" in markdown


def test_comment_without_a_champion_says_so(tmp_path: Path):
    (tmp_path / "s.json").write_text(
        json.dumps({"env": "local", "models": [{"model": "m", "metrics": {"accuracy": 0.5}}]})
    )
    markdown = render(load_rows(tmp_path, tmp_path / "none"))
    assert "No champion at @local" in markdown and "| accuracy | 0.5000 |" in markdown


def test_comment_adds_each_prompt_evaluation_with_its_difference_from_the_champion(tmp_path: Path):
    from pipelines.evaluate.gates import GateResult
    from pipelines.gitops.comment import comment
    from pipelines.prompts.evaluation import CaseResult, PromptEvaluation, report_markdown

    gate = GateResult(
        "case_pass_rate min", "case_pass_rate", 0.5, 0.8, False, "case_pass_rate = 0.500 < min 0.800"
    )
    case = CaseResult("cites", "How?", False, ["cites nothing"], "x", [], None, 1.0, None)
    evaluation = PromptEvaluation("platform-assistant", "dev", {"case_pass_rate": 0.5}, [gate], [case],
                                  champion={"case_pass_rate": 0.75})  # fmt: skip
    folder = tmp_path / "reports" / "local" / "prompts" / "platform-assistant"
    folder.mkdir(parents=True)
    (folder / "evaluation.md").write_text(report_markdown(evaluation))
    comment(tmp_path / "ci", tmp_path / "reports", post_it=False, out=tmp_path / "comment.md")
    markdown = (tmp_path / "comment.md").read_text()
    assert "## Prompt `platform-assistant` vdev: **gates failed**" in markdown
    assert "| case_pass_rate | 0.500 | 0.750 | -0.250 |" in markdown
    assert "- cites: cites nothing" in markdown


@pytest.fixture
def grafana() -> Iterator[GrafanaStandIn]:
    with grafana_stand_in() as stand_in:
        yield stand_in


def test_grafana_publish_posts_each_dashboard_with_the_token(tmp_path: Path, grafana: GrafanaStandIn):
    (tmp_path / "a.json").write_text(json.dumps({"uid": "a", "title": "A", "id": 7}))
    token = "t0k"  # pragma: allowlist secret
    env = {"GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": token, "GRAFANA_FOLDER_UID": "ml"}
    result = run_aip(REPO_ROOT, "ci", "grafana-publish", str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    [(path, body, auth)] = grafana.received
    assert path == "/api/dashboards/db" and auth == "Bearer t0k"
    assert body["overwrite"] is True and body["folderUid"] == "ml"
    assert body["dashboard"] == {"uid": "a", "title": "A", "id": None}


def test_grafana_publish_without_configuration_is_a_notice(tmp_path: Path):
    result = run_aip(
        REPO_ROOT, "ci", "grafana-publish", str(tmp_path), env={"GRAFANA_URL": "", "GRAFANA_TOKEN": ""}
    )
    assert result.returncode == 0
    assert "::notice::Grafana not configured" in result.stderr


def test_every_command_and_path_the_workflows_name_exists():
    assert check_commands(WORKFLOWS, REPO_ROOT, usage_problem) == []


def test_a_missing_make_target_or_aip_option_is_reported(tmp_path: Path):
    root = make_repo_copy(tmp_path / "repo")
    (root / "Makefile").write_text("lint:\n\t@true\n")
    git(root, "add", "Makefile")
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: make lint\n      - run: make deploy-everything\n"
        "      - run: .venv/bin/aip validate --strictest\n"
        "      - run: .venv/bin/aip no-such-command x\n"
    )
    problems = check_commands([workflow], root, usage_problem)
    assert any("make target `deploy-everything` does not exist" in p for p in problems)
    assert any("unrecognized arguments: --strictest" in p for p in problems)
    assert any("`aip no-such-command` is not a command" in p for p in problems)  # a removed command fails CI
    assert len(problems) == 3, problems


def test_a_missing_repository_path_is_reported(tmp_path: Path):
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: .venv/bin/aip ci terraform plan --root infra/envs/qa\n"
    )
    assert check_commands([workflow], REPO_ROOT, usage_problem) == [
        "w.yml: job a: `.venv/bin/aip ci terraform plan --root infra/envs/qa`: "
        "path infra/envs/qa does not exist"
    ]
