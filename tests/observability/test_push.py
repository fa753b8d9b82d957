"""Batch metrics of `aip run`: a node-exporter textfile (or a Pushgateway) that accumulates across runs."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from pipelines.lifecycle.run import ModelOutcome, RunReport, push_run_report
from pipelines.observability.push import TEXTFILE_ENV
from pipelines.repo.layout import Repo


def values(path: Path) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(path.read_text())
        for s in family.samples
    }


def report(status: str) -> RunReport:
    outcome = ModelOutcome("tumor-classifier", status=status, seconds={"train": 12.5, "evaluate": 1.5})
    return RunReport("staging", [outcome], {"validate": 0.2, "data": 3.0})


def test_runs_accumulate_and_the_last_success_survives_a_failure(
    repo_copy: Path, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv(TEXTFILE_ENV, str(tmp_path / "textfile"))
    repo = Repo(repo_copy)
    (where,) = push_run_report(repo, report("registered"))
    path = Path(where)
    assert path.parent == tmp_path / "textfile" and path.suffix == ".prom"
    first = values(path)
    key = (("env", "staging"), ("model", "tumor-classifier"))
    success = first[("aip_pipeline_last_success_timestamp_seconds", key)]
    assert first[("aip_pipeline_runs_total", (*key[:1], *key[1:], ("status", "success")))] == 1
    assert first[("aip_pipeline_last_run_success", key)] == 1
    assert first[("aip_pipeline_step_duration_seconds", (key[0], key[1], ("step", "train")))] == 12.5

    push_run_report(repo, report("registered"))
    push_run_report(repo, report("failed: gates"))
    last = values(path)
    assert last[("aip_pipeline_runs_total", (key[0], key[1], ("status", "success")))] == 2
    assert last[("aip_pipeline_runs_total", (key[0], key[1], ("status", "failed")))] == 1
    assert last[("aip_pipeline_last_run_success", key)] == 0
    assert last[("aip_pipeline_last_success_timestamp_seconds", key)] >= success  # kept from the last success
    assert "_created" not in path.read_text() and 'job="' not in path.read_text()


def test_an_unreachable_pushgateway_warns_and_never_fails_the_run(repo_copy: Path, monkeypatch, capsys):
    monkeypatch.setenv("AIP_PUSHGATEWAY_URL", "http://127.0.0.1:9")  # discard port: connection refused
    assert push_run_report(Repo(repo_copy), report("registered")) == []
    assert "warning: metrics of aip-pipeline" in capsys.readouterr().err
