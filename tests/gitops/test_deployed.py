"""`aip ci deployed`: promotion only after a real deploy of every model (promoted or nothing to do)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.gitops.deployed import deployed
from pipelines.repo.layout import Repo
from tests.support.repo import REPO_ROOT

MODELS = ["topic-classifier", "tumor-classifier"]


def report(folder: Path, model: str, verdict: str, *, env: str = "dev", version: str = "3") -> Path:
    """A report as `aip deploy --report-json .aip/reports/<env>/<model>/deploy.json` writes it."""
    path = folder / env / model / "deploy.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    after = version if verdict in ("promoted", "promoted_directly", "up_to_date") else "2"
    data = {"model": model, "env": env, "version": version, "verdict": verdict, "alias_after": after}
    path.write_text(json.dumps({**data, "reason": "because", "stable_before": "2"}))
    return path


@pytest.fixture
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "github-output"
    out.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    return out


def answer(out: Path) -> str:
    return dict(line.split("=", 1) for line in out.read_text().splitlines())["deployed"]


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        (["promoted", "up_to_date"], True),
        (["promoted_directly", "promoted"], True),
        (["up_to_date", "up_to_date"], True),
        (["promoted", "rolled_back"], False),
        (["aborted", "up_to_date"], False),
    ],
)
def test_deployed_only_when_every_model_is_promoted_or_already_there(
    tmp_path: Path, outputs: Path, verdicts: list[str], expected: bool, capsys: pytest.CaptureFixture[str]
):
    for model, verdict in zip(MODELS, verdicts, strict=True):
        report(tmp_path / "reports", model, verdict)
    assert deployed(Repo(REPO_ROOT), "env/dev", [tmp_path / "reports"]) is expected
    assert answer(outputs) == str(expected).lower()
    summary = (tmp_path / "summary.md").read_text()
    assert f"Deployed to dev: {'yes' if expected else 'no'}" in summary
    if not expected:
        assert "the next environment is not promoted" in capsys.readouterr().err


def test_a_model_without_a_report_blocks_promotion(tmp_path: Path, outputs: Path, capsys):
    path = report(tmp_path / "reports", "tumor-classifier", "promoted")
    assert deployed(Repo(REPO_ROOT), "dev", [path]) is False
    assert "::warning::topic-classifier: no deploy report for dev" in capsys.readouterr().err
    assert deployed(Repo(REPO_ROOT), "dev", [path], models=["tumor-classifier"]) is True


def test_no_report_at_all_is_a_notice_not_a_failure(tmp_path: Path, outputs: Path, capsys):
    """A fork without GPU runners or a cloud role: the deploy jobs skipped, nothing was deployed."""
    (tmp_path / "reports").mkdir()
    assert deployed(Repo(REPO_ROOT), "dev", [tmp_path / "reports", tmp_path / "missing"]) is False
    assert answer(outputs) == "false"
    err = capsys.readouterr().err
    assert "::notice::nothing was deployed to dev" in err and "AIP_GPU_RUNNERS" in err


def test_reports_of_another_environment_or_unreadable_ones_do_not_count(
    tmp_path: Path, outputs: Path, capsys
):
    for model in MODELS:
        report(tmp_path / "reports", model, "promoted", env="staging")
    (tmp_path / "reports" / "dev" / "x").mkdir(parents=True)
    (tmp_path / "reports" / "dev" / "x" / "deploy.json").write_text("{not json")
    assert deployed(Repo(REPO_ROOT), "dev", [tmp_path / "reports"]) is False
    err = capsys.readouterr().err
    assert "a report for 'staging', not 'dev'" in err and "not a deploy report" in err


def test_the_command_sets_the_output_and_exits_zero(tmp_path: Path):
    from tests.support.cli import run_aip

    for model in MODELS:
        report(tmp_path / "reports", model, "rolled_back")
    out = tmp_path / "out"
    out.write_text("")
    result = run_aip(
        REPO_ROOT,
        "ci",
        "deployed",
        "--env",
        "env/dev",
        str(tmp_path / "reports"),
        env={"GITHUB_OUTPUT": str(out)},
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text() == "deployed=false\n"
    bad = run_aip(REPO_ROOT, "ci", "deployed", "--env", "dev", "--models", "nope", str(tmp_path))
    assert bad.returncode == 1 and "unknown model(s): nope" in bad.stderr
