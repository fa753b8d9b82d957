"""A real study on the tumor-classifier (6 epochs a trial): MLflow holds one parent run with a child
per trial, pruned trials are marked, the result JSON and `--write` are usable by the tune workflow,
and one worker replays a study exactly from its seed."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli.main import main
from pipelines.config import load_model

pytestmark = [pytest.mark.slow, pytest.mark.integration]

N_TRIALS = 8


@dataclass
class Study:
    root: Path
    result: dict[str, Any]
    output: str
    yaml_before: str


def _client(root: Path) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{root}/.aip/mlflow.db")


def _runs(root: Path) -> list[Any]:
    client = _client(root)
    experiment = client.get_experiment_by_name("aip/tumor-classifier-tuning")
    assert experiment is not None
    return list(client.search_runs([experiment.experiment_id], max_results=1000))


def _tune(root: Path, *args: str) -> tuple[int, str]:
    import contextlib
    import io
    import os

    out = io.StringIO()
    previous = os.environ.get("AIP_REPO")
    os.environ["AIP_REPO"] = str(root)
    try:
        with contextlib.redirect_stdout(out):
            code = main(["tune", "tumor-classifier", *args])
    finally:
        if previous is None:
            os.environ.pop("AIP_REPO", None)
        else:
            os.environ["AIP_REPO"] = previous
    return code, out.getvalue()


@pytest.fixture(scope="module")
def study(tune_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Study:
    """`aip tune tumor-classifier --trials 8 --json ...` on the defaults (local MLflow and study storage)."""
    root = Path(shutil.copytree(tune_root, tmp_path_factory.mktemp("study") / "repo"))
    before = (root / "models" / "tumor-classifier" / "model.yaml").read_text()
    result = root / "tune.json"
    code, output = _tune(root, "--trials", str(N_TRIALS), "--json", str(result))
    assert code == 0, output
    return Study(root, json.loads(result.read_text()), output, before)


def test_the_study_is_one_parent_run_with_one_nested_run_per_trial(study: Study) -> None:
    runs = _runs(study.root)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert [p.info.run_id for p in parents] == [study.result["parent_run_id"]]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == study.result["parent_run_id"]]
    assert len(children) == N_TRIALS == study.result["n_trials"]
    parent = parents[0]
    assert parent.data.params["metric"] == "log_loss" and parent.data.params["split"] == "validation"
    assert parent.data.metrics["best_value"] == pytest.approx(study.result["best_value"])
    artifacts = {a.path for a in _client(study.root).list_artifacts(parent.info.run_id, "plots")}
    assert artifacts == {"plots/optimization_history.png", "plots/param_importances.png"}


def test_each_trial_run_holds_its_values_curves_and_state(study: Study) -> None:
    children = [r for r in _runs(study.root) if "mlflow.parentRunId" in r.data.tags]
    states = [r.data.tags["aip.tune.state"] for r in children]
    assert set(states) <= {"complete", "pruned"} and "pruned" in states and "complete" in states
    assert states.count("complete") == study.result["n_complete"]
    assert states.count("pruned") == study.result["n_pruned"]
    client = _client(study.root)
    for run in children:
        assert {"learning_rate", "dropout", "hidden_sizes", "epochs"} <= set(run.data.params)
        curve = client.get_metric_history(run.info.run_id, "val_loss")
        if run.data.tags["aip.tune.state"] == "complete":
            assert len(curve) == 6 and "objective" in run.data.metrics
        else:
            assert len(curve) == run.data.metrics["pruned_at_epoch"] < 6
            assert run.data.params["learning_rate"] == "1e-06"  # the rate that learns nothing is pruned


def test_the_trial_0_baseline_is_model_yamls_current_values(study: Study) -> None:
    first = next(r for r in _runs(study.root) if r.data.tags.get("aip.tune.trial") == "0")
    config = load_model(study.root / "models" / "tumor-classifier" / "model.yaml").training
    # learning_rate and dropout lie inside the test space and are enqueued; hidden_sizes [64, 32] is not
    assert (first.data.params["learning_rate"], first.data.params["dropout"]) == ("0.001", "0.1")
    assert (config.learning_rate, config.dropout, config.hidden_sizes) == (0.001, 0.1, [64, 32])
    assert first.data.params["hidden_sizes"] in ("[16]", "[32, 16]")


def test_the_result_prints_a_diff_and_says_how_to_apply_it(study: Study) -> None:
    result = study.result
    assert set(result["best_params"]) == {"learning_rate", "dropout", "hidden_sizes"}
    for name, change in result["diff"].items():
        assert f"  {name}: " in study.output and change["to"] == result["best_params"][name]
    assert "->" in study.output and f"--study {result['study']} --trials 0 --write" in study.output
    assert "***" not in result["storage"] and result["storage"].endswith("/.aip/optuna.db")


def test_write_puts_the_best_values_into_model_yaml_for_a_pull_request(study: Study) -> None:
    root = Path(shutil.copytree(study.root, study.root.parent / "written"))
    path = root / "models" / "tumor-classifier" / "model.yaml"
    code, output = _tune(root, "--study", study.result["study"], "--trials", "0", "--write")
    assert code == 0, output
    training = load_model(path).training.model_dump()
    for name, value in study.result["best_params"].items():
        assert training[name] == value
    changed = [
        new
        for old, new in zip(study.yaml_before.splitlines(), path.read_text().splitlines(), strict=True)
        if old != new
    ]
    assert len(changed) == len(study.result["diff"]) and all(line.startswith("  ") for line in changed)
    assert "# a team of platform.yaml's organisation.teams" in path.read_text()


def test_one_worker_replays_a_study_from_its_seed(study: Study) -> None:
    root = Path(shutil.copytree(study.root, study.root.parent / "replay"))
    code, output = _tune(root, "--study", "replay", "--trials", "4")
    assert code == 0, output
    runs = _runs(root)

    def trials(name: str) -> list[tuple[str, str, str]]:
        chosen = sorted(
            (
                r
                for r in runs
                if r.data.tags.get("aip.tune.study") == name and "mlflow.parentRunId" in r.data.tags
            ),
            key=lambda r: int(r.data.tags["aip.tune.trial"]),
        )
        return [
            (r.data.params["learning_rate"], r.data.params["dropout"], r.data.tags["aip.tune.state"])
            for r in chosen
        ]

    assert trials("replay") == trials(study.result["study"])[:4]
