"""Run the PR workflow on this machine, job by job, the way GitHub Actions would (`aip ci local-run`).

A scratch clone of this repository whose `origin/main` is the base and whose `pr` branch holds one
change to the engine plays the pull request. Each job's `run:` steps run in order with the workflow's
environment; `uses:` steps are skipped with a logged reason (artifacts are copied locally), and commands
that need a GPU or a cloud are replaced by their documented local equivalents
(pipelines/gitops/localrun.py, docs/gitops.md). One substitution exists in this test only: `make test`
becomes `pytest --collect-only`, because the full suite contains this test and running it would recurse;
the collection still proves the suite imports and its markers are declared (`--strict-markers`).

The smoke jobs really train and evaluate both example models on a capped sample: minutes, so `slow`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipelines.gitops.comment import MARKER
from pipelines.gitops.localrun import JobResult, LocalRunner, make_scratch
from tests.support.git import git
from tests.support.repo import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.integration]

RECURSION = {"make test": (".venv/bin/python -m pytest -q --collect-only", "the suite contains this test")}


def pull_request(scratch: Path, base: str, head: str) -> dict[str, Any]:
    return {
        "pull_request": {
            "number": 7,
            "title": "a change",
            "head": {
                "ref": head,
                "sha": git(scratch, "rev-parse", "HEAD"),
                "repo": {"full_name": "example-org/ai-platform"},
            },
            "base": {"ref": base},
        }
    }


def runner(scratch: Path, base: str, head: str, log: list[str]) -> LocalRunner:
    return LocalRunner(
        scratch / ".github" / "workflows" / "pr.yml",
        scratch,
        event_name="pull_request",
        event=pull_request(scratch, base, head),
        github={"base_ref": base, "head_ref": head, "ref": "refs/pull/7/merge"},
        substitutions=RECURSION,
        log=log.append,
    )


@pytest.fixture(scope="module")
def pr_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[JobResult]], list[str]]:
    # The pull request is made here, not taken from the checkout's uncommitted work (a clean CI clone
    # has none): a change to the engine's evaluation code, which `aip affected` maps to every model ...
    scratch = make_scratch(REPO_ROOT, tmp_path_factory.mktemp("local-run") / "repo", only=[])
    report = scratch / "pipelines" / "evaluate" / "report.py"
    text = report.read_text()
    report.write_text(text.replace("self-contained HTML", "standalone HTML", 1))
    # ... and to a workflow, so the path-filtered workflow-policy job runs too.
    workflow = scratch / ".github" / "workflows" / "dashboards.yml"
    workflow.write_text(workflow.read_text().replace("(re-render and fail", "(re-render, and fail", 1))
    git(scratch, "commit", "-qam", "evaluate: reword the report module docstring; dashboards.yml comment")
    log: list[str] = []
    results = runner(scratch, "main", "pr", log).run()
    return scratch, results, log


def test_every_job_of_the_pr_workflow_passes_or_is_filtered_out(pr_run):
    _, results, log = pr_run
    summary = {job: [r.result for r in runs] for job, runs in results.items()}
    failures = [
        f"{r.job} {r.matrix}: {s.name}: {s.detail}"
        for runs in results.values()
        for r in runs
        for s in r.steps
        if s.status == "failure"
    ]
    assert not failures, "\n".join(failures) + "\n" + "\n".join(log)
    assert summary["pr-ok"] == ["success"]
    assert summary["guard"] == ["skipped"]  # a PR into main: the env/* guard does not apply
    for job in ("plan", "lint", "pre-commit", "test", "comment", "workflow-policy"):
        assert summary[job] == ["success"], (job, summary)
    assert summary["smoke"] == ["success", "success"]  # both example models: the engine changed


def test_uses_steps_are_skipped_with_a_reason_and_artifacts_flow_between_jobs(pr_run):
    scratch, _, log = pr_run
    assert any("uses actions/checkout: the scratch clone is the checkout" in line for line in log)
    assert any("uses actions/setup-python: this machine's Python 3.11" in line for line in log)
    assert any("`make test` replaced by" in line for line in log)
    smoke = json.loads((scratch / ".aip" / "ci" / "smoke-tumor-classifier.json").read_text())
    assert smoke["models"][0]["metrics"]["accuracy"] > 0.5


def test_the_metrics_comment_is_rendered_for_each_model(pr_run):
    scratch, _, _ = pr_run
    summaries = list((scratch.parent / f"{scratch.name}-runner").glob("step-*/summary.md"))
    comment = next(p.read_text() for p in summaries if MARKER in p.read_text())
    assert "### topic-classifier" in comment and "### tumor-classifier" in comment
    assert "| accuracy |" in comment


def test_pr_into_prod_from_a_feature_branch_fails_the_guard_job(pr_run, tmp_path: Path):
    scratch, _, _ = pr_run
    log: list[str] = []
    results = runner(scratch, "env/prod", "feature/faster-model", log).run(["plan", "guard"])
    [guard] = results["guard"]
    assert guard.result == "failure"
    [failed] = [s for s in guard.steps if s.status == "failure"]
    assert (
        "pull request into env/prod comes from feature/faster-model; expected main or env/staging"
        in failed.detail
    )


def test_smoke_compares_with_the_champion_once_one_is_registered(pr_run):
    """After `aip run` registers a champion at @local, the smoke comment shows the difference from it."""
    from tests.support.cli import run_aip

    scratch, _, _ = pr_run
    env = {"PYTHONPATH": str(scratch)}
    registered = run_aip(scratch, "run", "tumor-classifier", env=env)
    assert registered.returncode == 0, registered.stderr[-3000:]
    out = scratch / ".aip" / "champion" / "smoke.json"
    smoke = run_aip(scratch, "ci", "smoke", "tumor-classifier", "--summary-json", str(out), env=env)
    assert smoke.returncode == 0, smoke.stderr[-3000:]
    [row] = json.loads(out.read_text())["models"]
    assert row["champion"] == "v1 (@local)"
    assert set(row["champion_metrics"]) >= {"accuracy", "roc_auc"}
    comment = run_aip(
        scratch,
        "ci",
        "comment",
        str(out.parent),
        "--reports",
        str(scratch / ".aip" / "reports"),
        env={**env, "GITHUB_STEP_SUMMARY": ""},
    )
    assert "| metric | candidate | champion v1 (@local) | difference |" in comment.stdout
