"""The lifecycle steps of one model: train, evaluate, register, alias.

Each step is idempotent and usable alone (`aip train|evaluate|register`) or in order (`aip run`).
State lives in MLflow, keyed by the model's fingerprint, never in local files, so a step can
run on another machine than the one before it (a GPU runner trains, a CPU runner registers).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.lifecycle.context import Context
from pipelines.registry import provenance
from pipelines.registry.fingerprint import Fingerprint, compute
from pipelines.registry.store import FINGERPRINT_TAG, MODEL_URI_TAG, STEP_TAG
from pipelines.registry.tracking import experiment_id

if TYPE_CHECKING:
    from pipelines.artifacts import Predictor
    from pipelines.evaluate import EvaluationResult

ARTIFACT_KEY = "aip_model"  # folder name of the aip artifact inside the MLflow model
GATES_TAG = "aip.gates"
ENV_TAG = "aip.env"
PYFUNC_FILE = Path(__file__).resolve().parent.parent / "registry" / "pyfunc_model.py"


class StepFailed(Exception):
    """A step could not complete; the message says why and what to do."""

    user_facing = True


class GateFailed(StepFailed):
    """The candidate failed an evaluation gate; `result.summary()` says which."""

    def __init__(self, model: str, result: EvaluationResult) -> None:
        super().__init__(f"{model}: evaluation gates failed\n{result.summary()}")
        self.result = result


@dataclass
class Candidate:
    """A trained model for one fingerprint, registered or not yet."""

    model: str
    fingerprint: Fingerprint
    data_version: str
    run_id: str
    model_uri: str
    version: str | None = None
    local_dir: Path | None = None  # the artifact folder when this process trained it
    trained_now: bool = False
    notes: list[str] = field(default_factory=list)


def fingerprint_of(ctx: Context, model: str) -> tuple[Fingerprint, str]:
    """(fingerprint, data version) of a model from the prepared data of its dataset."""
    from pipelines.data import data_version

    config = ctx.repo.model(model)
    version = data_version(ctx.repo, config.dataset)
    return compute(ctx.repo, model, version), version


def find_candidate(ctx: Context, model: str) -> Candidate | None:
    """The registered version or finished training run of the current fingerprint, if any."""
    fp, data_version = fingerprint_of(ctx, model)
    registered = ctx.registry.version_for(model, fp.digest)
    if registered is not None:
        run = ctx.client.get_run(registered.run_id) if registered.run_id else None
        run_id = registered.run_id or ""
        source = str(registered.source)
        uri = run.data.tags.get(MODEL_URI_TAG, source) if run else source
        return Candidate(model, fp, data_version, run_id, uri, version=str(registered.version))
    exp = experiment_id(ctx.client, ctx.repo, model, ctx.env)
    run = ctx.registry.finished_training_run(exp, fp.digest)
    if run is not None:
        candidate = Candidate(model, fp, data_version, run.info.run_id, run.data.tags[MODEL_URI_TAG])
        candidate.notes.append("reused finished training run (not registered yet)")
        return candidate
    return None


# ---- train ---------------------------------------------------------------------------------
def train(ctx: Context, model: str, *, force: bool = False) -> Candidate:
    """Train unless the fingerprint already has a registered version or a finished run."""
    if not force and (found := find_candidate(ctx, model)) is not None:
        return found
    import mlflow

    from pipelines.data import load_split
    from pipelines.train import train_model

    config = ctx.repo.model(model)
    dataset = ctx.repo.dataset(config.dataset)
    fp, data_version = fingerprint_of(ctx, model)
    train_df = load_split(ctx.repo, config.dataset, "train")
    val_df = load_split(ctx.repo, config.dataset, "validation")
    out_dir = ctx.work_dir(model, fp.short) / ARTIFACT_KEY
    if out_dir.exists():
        shutil.rmtree(out_dir)

    exp = experiment_id(ctx.client, ctx.repo, model, ctx.env)
    tags = {
        FINGERPRINT_TAG: fp.digest,
        STEP_TAG: "train",
        ENV_TAG: ctx.env,
        "aip.git_commit": provenance.git_commit(ctx.repo.root),
        f"aip.data.{config.dataset}": data_version,
        **{f"aip.fingerprint.{k}": v for k, v in fp.parts.items()},
    }
    with mlflow.start_run(experiment_id=exp, run_name=f"train-{fp.short}", tags=tags) as run:
        mlflow.log_dict(provenance.system(), "environment/system.json")
        mlflow.log_text(provenance.packages(), "environment/packages.txt")
        mlflow.log_dict({"digest": fp.digest, "parts": fp.parts}, "fingerprint.json")
        mlflow.log_artifact(str(ctx.repo.model_dir(model) / "model.yaml"), "config")
        result = train_model(
            config,
            dataset,
            train_df,
            val_df,
            out_dir,
            log_metrics=_log_epoch,
        )
        mlflow.log_params({k: _param(v) for k, v in result.params.items()})
        mlflow.log_metrics(
            {
                "train_seconds": result.seconds,
                "peak_rss_mb": result.peak_rss_mb,
                "best_epoch": result.best_epoch,
            }
        )
        info = _log_model(out_dir, result.artifact_dir)
        # Written last: only a run that got this far counts as a finished training run.
        mlflow.set_tag(MODEL_URI_TAG, info.model_uri)
    return Candidate(
        model,
        fp,
        data_version,
        run.info.run_id,
        info.model_uri,
        local_dir=result.artifact_dir,
        trained_now=True,
    )


def _log_epoch(metrics: dict[str, float], epoch: int) -> None:
    import mlflow

    mlflow.log_metrics(metrics, step=epoch)


def _param(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return text[:500]


def _log_model(out_dir: Path, artifact_dir: Path) -> Any:
    import mlflow
    import pandas as pd
    from mlflow.models import ModelSignature, infer_signature

    from pipelines.artifacts import load

    predictor = load(artifact_dir)
    if predictor.kind == "text":
        example_in = pd.DataFrame({"text": ["hello"]})
    else:
        example_in = pd.DataFrame([dict.fromkeys(predictor.feature_names or [], 0.0)])
    example_out = pd.DataFrame(
        {"label": [predictor.labels[0]], **{f"p_{label}": [0.0] for label in predictor.labels}}
    )
    signature: ModelSignature = infer_signature(example_in, example_out)
    with warnings.catch_warnings():
        # The signature is given; an input example would make MLflow load and run the model at log time.
        warnings.filterwarnings("ignore", message=".*input example was not provided", category=UserWarning)
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PYFUNC_FILE),
            artifacts={ARTIFACT_KEY: str(artifact_dir)},
            code_paths=[str(Path(__file__).resolve().parent.parent)],
            pip_requirements=_requirements(),
            signature=signature,
        )


def _requirements() -> list[str]:
    from importlib import metadata

    names = ["mlflow", "torch", "transformers", "safetensors", "numpy", "pandas", "pydantic", "ruamel.yaml"]
    return [f"{n}=={metadata.version(n)}" for n in names]


# ---- evaluate ------------------------------------------------------------------------------
def load_predictor(ctx: Context, model_uri: str, local_dir: Path | None = None) -> Predictor:
    """The aip artifact of a logged model: the local folder if this process has it, else download."""
    from pipelines.artifacts import load

    if local_dir is not None and local_dir.exists():
        return load(local_dir)
    import mlflow

    target = Path(tempfile.mkdtemp(prefix="aip-model-", dir=ctx.repo.state_dir))
    path = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(target)))
    return load(path / "artifacts" / ARTIFACT_KEY)


def evaluate(ctx: Context, candidate: Candidate) -> EvaluationResult:
    """Evaluate the candidate on the held-out split against its gates and the env's champion."""
    import mlflow

    from pipelines.data import load_split
    from pipelines.evaluate import evaluate_model

    config = ctx.repo.model(candidate.model)
    dataset = ctx.repo.dataset(config.dataset)
    test_df = load_split(ctx.repo, config.dataset, "test")
    predictor = load_predictor(ctx, candidate.model_uri, candidate.local_dir)

    champion_version = ctx.registry.alias_version(candidate.model, ctx.env)
    champion = None
    champion_label = None
    if champion_version is not None and str(champion_version.version) != candidate.version:
        champion = load_predictor(ctx, f"models:/{candidate.model}/{champion_version.version}")
        champion_label = f"v{champion_version.version} (@{ctx.env})"

    out_dir = ctx.report_dir(candidate.model)
    for stale in out_dir.iterdir():
        if stale.is_file():
            stale.unlink()
    result = evaluate_model(
        config, dataset, predictor, test_df, out_dir, champion=champion, champion_label=champion_label
    )

    exp = experiment_id(ctx.client, ctx.repo, candidate.model, ctx.env)
    tags = {
        FINGERPRINT_TAG: candidate.fingerprint.digest,
        STEP_TAG: "evaluate",
        ENV_TAG: ctx.env,
        "aip.candidate_run": candidate.run_id,
        "aip.champion_version": str(champion_version.version) if champion_version else "none",
        GATES_TAG: "passed" if result.passed else "failed",
    }
    name = f"evaluate-{candidate.fingerprint.short}-{ctx.env}"
    with mlflow.start_run(experiment_id=exp, run_name=name, tags=tags):
        mlflow.log_metrics({f"test_{k}": v for k, v in result.metrics.items() if _finite(v)})
        if result.champion_metrics:
            mlflow.log_metrics({f"champion_{k}": v for k, v in result.champion_metrics.items() if _finite(v)})
        for gate in result.gates:
            mlflow.set_tag(f"aip.gate.{gate.gate}", ("pass: " if gate.passed else "FAIL: ") + gate.message)
        mlflow.log_artifact(str(result.report_md), "evaluation")
        mlflow.log_artifact(str(result.report_html), "evaluation")
        for plot in result.plots:
            mlflow.log_artifact(str(plot), "evaluation/plots")
    (out_dir / "summary.txt").write_text(result.summary() + "\n", encoding="utf-8")
    if not result.passed:
        raise GateFailed(candidate.model, result)
    return result


def _finite(value: float) -> bool:
    return math.isfinite(value)


def last_passed_evaluation(ctx: Context, candidate: Candidate) -> dict[str, str] | None:
    """Tags of the newest evaluation of this fingerprint in this environment that passed its gates."""
    exp = experiment_id(ctx.client, ctx.repo, candidate.model, ctx.env)
    runs = ctx.client.search_runs(
        [exp],
        filter_string=(
            f"tags.`{FINGERPRINT_TAG}` = '{candidate.fingerprint.digest}' and tags.`{STEP_TAG}` = 'evaluate' "
            f"and tags.`{ENV_TAG}` = '{ctx.env}' and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs or runs[0].data.tags.get(GATES_TAG) != "passed":
        return None
    run = runs[0]
    return {**run.data.tags, **{f"metric.{k}": str(v) for k, v in run.data.metrics.items()}}


# ---- register ------------------------------------------------------------------------------
def register(ctx: Context, candidate: Candidate, evaluation: dict[str, str]) -> str:
    """Register the candidate once per fingerprint, tagged with where it came from."""
    config = ctx.repo.model(candidate.model)
    run = ctx.client.get_run(candidate.run_id)
    tags = {
        FINGERPRINT_TAG: candidate.fingerprint.digest,
        "aip.git_commit": run.data.tags.get("aip.git_commit", "unknown"),
        f"aip.data.{config.dataset}": candidate.data_version,
        GATES_TAG: evaluation.get(GATES_TAG, "unknown"),
        **{k: v for k, v in evaluation.items() if k.startswith("aip.gate.")},
        **{f"aip.{k}": v for k, v in evaluation.items() if k.startswith("metric.test_")},
    }
    version = ctx.registry.register(candidate.model, candidate.model_uri, candidate.run_id, tags)
    candidate.version = str(version.version)
    return candidate.version


def set_alias(ctx: Context, candidate: Candidate) -> str | None:
    """Point the environment alias at the candidate's version; return the previous version."""
    if candidate.version is None:
        raise StepFailed(f"{candidate.model}: register before setting the '{ctx.env}' alias")
    return ctx.registry.set_alias(candidate.model, ctx.env, candidate.version)


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start
