"""What the lifecycle steps write to MLflow for a reader of its UI: the tumour model, real MLflow on SQLite.

Training: the saved checkpoint's `best_val_*` metrics, the run's own peak memory, the splits as
dataset inputs, `model_code = none`. Evaluation: a run name that names the champion, the test split
as input, a description linking the training run. Registration: a description with links.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.lifecycle import steps
from pipelines.registry.context import Context
from pipelines.registry.fingerprint import compute
from pipelines.registry.tracking import experiment_id
from pipelines.repo.layout import Repo
from tests.support.repo import make_repo_copy

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # trains the tumour model (60 epochs)

MODEL, DATASET = "tumor-classifier", "breast-cancer"


@pytest.fixture
def ctx(tmp_path: Path, prepared_root: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    root = make_repo_copy(tmp_path / "repo")
    data = Path("datasets") / DATASET / "data"
    shutil.copytree(prepared_root / data, root / data)
    monkeypatch.setenv("AIP_REPO", str(root))
    return Context.open(Repo(root), "local")


def test_train_evaluate_register_leave_a_readable_trail(ctx: Context) -> None:
    candidate = steps.train(ctx, MODEL)
    run = ctx.client.get_run(candidate.run_id)
    metrics = run.data.metrics

    # the metrics table shows the saved checkpoint, not the last epoch
    best = int(metrics["best_epoch"])
    f1 = {m.step: m.value for m in ctx.client.get_metric_history(candidate.run_id, "val_macro_f1")}
    loss = {m.step: m.value for m in ctx.client.get_metric_history(candidate.run_id, "val_loss")}
    assert metrics["best_val_macro_f1"] == f1[best] == max(f1.values())
    assert metrics["best_val_loss"] == loss[best]
    assert {"best_val_accuracy", "best_val_loss", "best_val_macro_f1"} <= set(metrics)
    assert 50 < metrics["peak_rss_mb"] < 64_000

    # no model code: the tag says so; the fingerprint itself is unchanged
    assert run.data.tags["aip.fingerprint.model_code"] == "none"
    fp = compute(ctx.repo, MODEL, candidate.data_version)
    assert run.data.tags["aip.fingerprint"] == fp.digest and fp.parts["model_code"] != "none"

    # the Dataset column: train and validation splits, digest = the DVC data version
    inputs = {
        (d.dataset.name, d.dataset.digest, {t.key: t.value for t in d.tags}["mlflow.data.context"])
        for d in run.inputs.dataset_inputs
    }
    assert inputs == {
        (f"{DATASET}-train", candidate.data_version, "training"),
        (f"{DATASET}-validation", candidate.data_version, "validation"),
    }

    # evaluation: named after its champion (none yet), linked to the training run, header names it
    result = steps.evaluate(ctx, candidate)
    exp = experiment_id(ctx.client, ctx.repo, MODEL, ctx.env)
    evaluation_run = ctx.client.search_runs([exp], "tags.`aip.step` = 'evaluate'")[0]
    assert evaluation_run.info.run_name == f"evaluate-{candidate.fingerprint.short}-local-no-champion"
    note = evaluation_run.data.tags["mlflow.note.content"]
    assert f"](#/experiments/{exp}/runs/{candidate.run_id})" in note
    assert [d.dataset.name for d in evaluation_run.inputs.dataset_inputs] == [f"{DATASET}-test"]
    report = result.report_md.read_text()
    assert f"- training run: {candidate.run_id}" in report and "- candidate: not registered yet" in report

    # registration: the version's description links both runs and quotes the test metrics
    passed = steps.last_passed_evaluation(ctx, candidate)
    assert passed is not None
    version = ctx.client.get_model_version(MODEL, steps.register(ctx, candidate, passed))
    assert f"(#/experiments/{exp}/runs/{candidate.run_id})" in version.description
    assert f"(#/experiments/{exp}/runs/{evaluation_run.info.run_id})" in version.description
    assert f"roc_auc {result.metrics['roc_auc']:.4f}" in version.description
    # the one lineage tag: the model card (pipelines/cards) reads intervals and behavioural results there
    assert version.tags["aip.evaluation_run"] == evaluation_run.info.run_id
