"""The whole lifecycle with the real CLI: `aip run` on a small sample, in a temporary copy of the repo.

The first run is the session's trained registry (tests/support/registry.py): the copy shrinks the text
model's training (200 rows, one epoch, 32 tokens) and relaxes its gates to what such a model reaches;
the tabular model trains exactly as configured, with short local rollout steps and a free port for the
server its canaries need. Everything else is real: DVC stages and remote, Great Expectations, torch
training, MLflow on SQLite, the registry and aliases, `aip serve`. Each later test runs on a private
copy of the state after the first run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_aip
from tests.support.git import git
from tests.support.registry import TrainedRegistry, mlflow_client, run_summary
from tests.support.repo import copy_state, edit_yaml

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def versions(root: Path, model: str) -> list[str]:
    return sorted(str(v.version) for v in mlflow_client(root).search_model_versions(f"name = '{model}'"))


def training_runs(root: Path, model: str) -> int:
    client = mlflow_client(root)
    experiment = client.get_experiment_by_name(f"aip/{model}")
    return len(client.search_runs([experiment.experiment_id], "tags.`aip.step` = 'train'"))


@pytest.fixture(scope="module")
def first_run(trained_registry: TrainedRegistry) -> tuple[Path, Any, dict[str, Any]]:
    """The first `aip run` of the session's trained registry: read-only, copied by `after_first_run`."""
    return trained_registry.root, trained_registry.result, trained_registry.models


@pytest.fixture
def after_first_run(first_run, tmp_path: Path) -> Path:
    """A private copy of the state after the first run (git repo, data, DVC cache, MLflow store)."""
    root, result, _ = first_run
    assert result.returncode == 0, result.stderr[-3000:]
    return copy_state(root, tmp_path / "repo")  # a private registry (tests/support/repo.py says why)


def test_first_run_trains_evaluates_registers_and_aliases_both_models(first_run):
    root, result, models = first_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert set(models) == {"topic-classifier", "tumor-classifier"}
    for name, outcome in models.items():
        assert outcome["status"] == "trained+registered", (name, outcome)
        assert outcome["version"] == "1"
        assert outcome["deploy"] == "promoted_directly"  # a first version: no canary, alias set
        assert mlflow_client(root).get_model_version_by_alias(name, "local").version in (1, "1")
    tumor = models["tumor-classifier"]
    assert tumor["metrics"]["accuracy"] >= 0.92 and tumor["metrics"]["roc_auc"] >= 0.97
    assert "tumor-classifier" in result.stdout and "trained+registered" in result.stdout
    report = root / ".aip" / "reports" / "local" / "tumor-classifier"
    assert any(report.glob("*.html")) and any(report.glob("*.md"))
    version = mlflow_client(root).get_model_version("tumor-classifier", "1")
    assert version.tags["aip.gates"] == "passed"
    assert len(version.tags["aip.fingerprint"]) == 64
    assert (
        version.tags["aip.data.breast-cancer"]
        == json.loads(run_aip(root, "fingerprint", "tumor-classifier").stdout)["parts"]["data"]
    )


def test_registered_versions_load_as_mlflow_pyfunc_models_without_pickle(first_run):
    import mlflow
    import pandas as pd

    root, result, _ = first_run
    assert result.returncode == 0, result.stderr[-3000:]
    mlflow.set_tracking_uri(f"sqlite:///{root / '.aip' / 'mlflow.db'}")
    mlflow.set_registry_uri(f"sqlite:///{root / '.aip' / 'mlflow.db'}")
    topic = mlflow.pyfunc.load_model("models:/topic-classifier@local")
    out = topic.predict(pd.DataFrame({"text": ["who won the football match", "tell me a joke"]}))
    assert list(out.columns[:1]) == ["label"] and len(out) == 2
    assert out.filter(like="p_").sum(axis=1).round(4).eq(1.0).all()
    test = pd.read_csv(root / "datasets" / "breast-cancer" / "data" / "splits" / "test.csv")
    tumor = mlflow.pyfunc.load_model("models:/tumor-classifier@local")
    predicted = tumor.predict(test.drop(columns=["label"]).head(20))
    assert (predicted["label"] == test["label"].head(20)).mean() >= 0.8
    model_dir = Path(mlflow.artifacts.download_artifacts("models:/tumor-classifier@local"))
    assert not list(model_dir.rglob("*.pkl")) and list(model_dir.rglob("*.safetensors"))


def test_second_run_with_nothing_changed_trains_and_registers_nothing(after_first_run):
    root = after_first_run
    runs_before = training_runs(root, "tumor-classifier") + training_runs(root, "topic-classifier")
    result, models = run_summary(root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert {m["status"] for m in models.values()} == {"up-to-date"}
    assert versions(root, "tumor-classifier") == ["1"] and versions(root, "topic-classifier") == ["1"]
    assert training_runs(root, "tumor-classifier") + training_runs(root, "topic-classifier") == runs_before


def test_changing_one_models_config_retrains_that_model_only_and_affected_agrees(after_first_run):
    root = after_first_run
    edit_yaml(root / "models" / "tumor-classifier" / "model.yaml", lambda d: d["training"].update(epochs=40))
    affected = json.loads(run_aip(root, "affected", "--base", "HEAD").stdout)
    assert affected["models"] == ["tumor-classifier"]
    result, models = run_summary(root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert models["tumor-classifier"]["status"] == "trained+registered"
    assert models["tumor-classifier"]["version"] == "2" and models["tumor-classifier"]["previous"] == "1"
    # v2 was canaried against v1 on a server the run started and stopped, and promoted.
    assert models["tumor-classifier"]["deploy"] == "promoted", models["tumor-classifier"]
    assert str(mlflow_client(root).get_model_version_by_alias("tumor-classifier", "local").version) == "2"
    assert "to keep serving: aip serve --env local" in result.stderr
    assert "promoted v1->v2" in result.stdout
    assert models["topic-classifier"]["status"] == "up-to-date"
    assert versions(root, "topic-classifier") == ["1"]


def test_a_failing_gate_exits_non_zero_naming_the_gate_and_registers_nothing(after_first_run):
    root = after_first_run

    def impossible(data: Any) -> None:
        data["training"]["epochs"] = 30  # a new fingerprint, so the model is trained and judged
        data["evaluation"]["gates"].append({"metric": "accuracy", "min": 0.999})

    edit_yaml(root / "models" / "tumor-classifier" / "model.yaml", impossible)
    result, models = run_summary(root, "tumor-classifier")
    assert result.returncode == 1
    assert models["tumor-classifier"]["status"] == "failed: gates"
    assert "accuracy" in result.stderr and "0.999" in result.stderr
    assert versions(root, "tumor-classifier") == ["1"]
    assert str(mlflow_client(root).get_model_version_by_alias("tumor-classifier", "local").version) == "1"


def test_a_run_stopped_between_training_and_registration_completes_without_duplicates(after_first_run):
    root = after_first_run
    edit_yaml(root / "models" / "tumor-classifier" / "model.yaml", lambda d: d["training"].update(epochs=20))
    trained = run_aip(root, "train", "tumor-classifier")  # the state a crash after training leaves
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert versions(root, "tumor-classifier") == ["1"]
    runs = training_runs(root, "tumor-classifier")

    result, models = run_summary(root, "tumor-classifier")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "reused finished training run" in result.stderr
    assert training_runs(root, "tumor-classifier") == runs  # not trained again
    assert versions(root, "tumor-classifier") == ["1", "2"]
    again, models = run_summary(root, "tumor-classifier")
    assert again.returncode == 0 and models["tumor-classifier"]["status"] == "up-to-date"
    assert versions(root, "tumor-classifier") == ["1", "2"]


def test_data_that_breaks_its_expectations_stops_before_training(after_first_run):
    root = after_first_run
    suite = root / "datasets" / "breast-cancer" / "expectations.yaml"
    suite.write_text(
        suite.read_text()
        + "  # truncated source: guards against a partial extract (set impossible by this test)\n"
        + "  - type: expect_table_row_count_to_be_between\n"
        + "    kwargs: {min_value: 1, max_value: 100}\n"
    )
    runs = training_runs(root, "tumor-classifier")
    result, models = run_summary(root, "tumor-classifier")
    assert result.returncode == 1
    assert models["tumor-classifier"]["status"] == "failed: data"
    assert "expect_table_row_count_to_be_between" in result.stderr
    assert training_runs(root, "tumor-classifier") == runs


# ---- the canary demo: real decisions, and the run ends where git says -----------------------------
def repo_version(root: Path, model: str) -> str:
    """The registered version of the fingerprint the repository describes now."""
    digest = json.loads(run_aip(root, "fingerprint", model).stdout)["fingerprint"]
    found = [v for v in mlflow_client(root).search_model_versions(f"name = '{model}'")]
    return next(str(v.version) for v in found if v.tags.get("aip.fingerprint") == digest)


def alias(root: Path, model: str) -> str:
    return str(mlflow_client(root).get_model_version_by_alias(model, "local").version)


def sampled_records(root: Path) -> list[dict[str, Any]]:
    """Everything the server wrote to the drift sink of `local` (sampling 10% of what it was sent)."""
    sink = root / ".aip" / "samples" / "local"
    return [json.loads(line) for part in sink.rglob("*.jsonl") for line in part.read_text().splitlines()]


def test_make_runs_demo_ends_on_the_repositorys_version_and_a_rerun_deploys_nothing(after_first_run):
    root = after_first_run
    assert alias(root, "tumor-classifier") == repo_version(root, "tumor-classifier") == "1"

    out = root / "demo.json"
    first = run_aip(root, "run", "tumor-classifier", "--canary-demo-if-new", "--summary-json", str(out))
    assert first.returncode == 0, first.stderr[-3000:]
    demo = json.loads(out.read_text())["models"][0]["demo"]
    assert demo["challenger"] == "2", demo  # a fresh state: the demo ran and registered its challenger
    assert alias(root, "tumor-classifier") == repo_version(root, "tumor-classifier") == "1", demo
    if demo["verdict"] == "promoted":  # the way back was a canary, or a direct restore said so
        assert demo["restored"] == "1" and (
            demo["restore_verdict"] == "promoted" or "restored_directly" in demo
        )
    # The load driver's replayed test rows are marked synthetic: none reached the drift sink.
    assert sampled_records(root) == []
    drift = run_aip(root, "drift", "tumor-classifier")
    assert drift.returncode == 4 and "insufficient data" in drift.stdout, drift.stdout + drift.stderr

    # The challenger has the lineage of any version: the pipeline's train step made it.
    client = mlflow_client(root)
    challenger = client.get_model_version("tumor-classifier", "2")
    assert challenger.tags["aip.demo"].startswith("seed-")
    assert challenger.tags["aip.git_commit"] == git(root, "rev-parse", "HEAD").strip()
    assert (
        challenger.tags["aip.data.breast-cancer"]
        == mlflow_client(root).get_model_version("tumor-classifier", "1").tags["aip.data.breast-cancer"]
    )
    assert challenger.tags["aip.gates"] == "passed" and "aip.metric.test_accuracy" in challenger.tags
    run = client.get_run(challenger.run_id)
    assert (
        run.data.params["seed"]
        != client.get_run(client.get_model_version("tumor-classifier", "1").run_id).data.params["seed"]
    )
    assert {"train_seconds", "best_epoch"} <= set(run.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config", "environment", "fingerprint.json"} <= artifacts

    again = run_aip(root, "run", "--canary-demo-if-new", "--summary-json", str(out))
    assert again.returncode == 0, again.stderr[-3000:]
    models = {m["model"]: m for m in json.loads(out.read_text())["models"]}
    assert {m["status"] for m in models.values()} == {"up-to-date"}
    assert all(not m["deploy"] and not m["demo"] for m in models.values()), models
    assert "canaries need a server" not in again.stderr and "make demo" in again.stderr  # no server started
    assert versions(root, "tumor-classifier") == ["1", "2"]
    assert alias(root, "tumor-classifier") == "1"


def test_a_demo_whose_way_back_is_rolled_back_restores_the_repositorys_version_directly(after_first_run):
    """Decisions forced by a stand-in deployer: the challenger wins, the canary back loses."""
    import time

    from pipelines.deploy.report import write
    from pipelines.deploy.result import DeployResult
    from pipelines.deploy.server import LocalServer
    from pipelines.lifecycle.demo import run_demo
    from pipelines.lifecycle.run import ModelOutcome
    from pipelines.registry.context import Context
    from pipelines.repo.layout import Repo

    root = after_first_run
    ctx = Context.open(Repo(root), "local")
    calls: list[str] = []

    def deployer(ctx: Context, model: str, version: str, server: object) -> DeployResult:
        calls.append(version)
        stable = alias(root, model)
        result = DeployResult(model, "local", version, stable, "promoted", started=time.time())
        if len(calls) == 1:
            ctx.registry.set_alias(model, "local", version)  # what a promotion does
            result.events.append((time.time(), "promoted"))
        else:
            result.verdict, result.reason = "rolled_back", "step 2 failed: latency_p95_ratio: 1.33 > 1.2"
            result.events.append((time.time(), "rolled_back"))
        result.finished = time.time()
        result.report, result.chart = write(root / ".aip", result)
        return result

    outcome = ModelOutcome("tumor-classifier", version="1")
    nobody = LocalServer("http://127.0.0.1:9", None, None)  # unreachable: the registry is what we check
    run_demo(ctx, outcome, nobody, deployer)

    assert calls == ["2", "1"]
    assert alias(root, "tumor-classifier") == repo_version(root, "tumor-classifier") == "1"
    assert outcome.demo["restored_directly"] == "the canary back to v1 ended rolled_back"
    tag = mlflow_client(root).get_model_version("tumor-classifier", "1").tags["aip.deploy.local.restored"]
    assert "rolled_back" in tag
    folders = sorted((root / ".aip" / "deploys" / "local" / "tumor-classifier").glob("v1-*"))
    report = json.loads((folders[-1] / "report.json").read_text())  # the newest: the way back
    assert [e["event"] for e in report["events"]] == ["rolled_back", "restored"]
    assert "restored directly" in report["reason"]
