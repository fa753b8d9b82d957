"""The lifecycle steps of one model: train, evaluate, register, alias.

Each step is idempotent and usable alone (`aip train|evaluate|register`) or in order (`aip run`).
State lives in MLflow, keyed by the model's fingerprint, never in local files, so a step can
run on another machine than the one before it (a GPU runner trains, a CPU runner registers).
"""

from __future__ import annotations

import hashlib
import math
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import AipError, is_expected
from pipelines.git import head_commit
from pipelines.lifecycle.memory import PeakRss
from pipelines.registry import provenance
from pipelines.registry.context import Context
from pipelines.registry.fingerprint import Fingerprint, compute
from pipelines.registry.loader import ARTIFACT_KEY, load_predictor
from pipelines.registry.store import FINGERPRINT_TAG, MODEL_URI_TAG, STEP_TAG
from pipelines.registry.tracking import experiment_id, param_text

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.evaluate import EvaluationResult

GATES_TAG = "aip.gates"
ENV_TAG = "aip.env"
EVALUATION_RUN = "aip.evaluation_run"  # key in last_passed_evaluation's answer: the run's id
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()  # hash_files of no files: a model without code
_DESCRIBED = ("accuracy", "macro_f1", "roc_auc", "log_loss")  # test metrics in a version's description
PYFUNC_FILE = Path(__file__).resolve().parent.parent / "registry" / "pyfunc_model.py"


class StepFailed(AipError):
    """A step could not complete; the message says why and what to do."""


class TrainingNotAllowed(StepFailed):
    """The environment only deploys registered versions (platform.yaml `train: false`), and the
    commit's fingerprint was never registered."""


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


def fingerprint_of(ctx: Context, model: str, seed: int | None = None) -> tuple[Fingerprint, str]:
    """(fingerprint, data version) of a model from the prepared data of its dataset.

    `seed` overrides model.yaml's training seed (the canary demo's challenger): another model, so
    another fingerprint, derived from the repo's and recorded in its parts."""
    from pipelines.data import data_version

    config = ctx.repo.model(model)
    version = data_version(ctx.repo, config.dataset)
    fp = compute(ctx.repo, model, version)
    if seed is not None:
        digest = hashlib.sha256(f"{fp.digest}:seed={seed}".encode()).hexdigest()
        fp = Fingerprint(digest, {**fp.parts, "seed_override": str(seed)})
    return fp, version


def find_candidate(ctx: Context, model: str, seed: int | None = None) -> Candidate | None:
    """The registered version or finished training run of the current fingerprint, if any."""
    fp, data_version = fingerprint_of(ctx, model, seed)
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
def may_train(ctx: Context) -> bool:
    """Whether ctx.env trains new fingerprints (platform.yaml `environments.<env>.train`)."""
    return ctx.repo.environment(ctx.env)[1].train


def training_environment(ctx: Context) -> str | None:
    """The first environment of the promotion order that trains (dev), if any."""
    envs = ctx.repo.platform.environments
    return next((name for name in ctx.repo.platform.promotion_order if envs[name].train), None)


def not_registered_message(ctx: Context, model: str, fingerprint: str) -> str:
    """What to say when the commit's fingerprint of `model` has no registered version."""
    commit = head_commit(ctx.repo.root)
    where = f"fingerprint {fingerprint[:12]} of {model} at commit {commit[:12]}"
    if may_train(ctx):
        return (
            f"{model}: {where} is not registered in '{ctx.env}'; train and register it with "
            f"`aip run {model} --env {ctx.env}`"
        )
    first = training_environment(ctx)
    how = (
        f"it must be trained in '{first}' first: merge this commit into env/{first} (deploy.yml runs "
        f"`aip run`/`aip train {model} --env {first}` there), then promote {first} → {ctx.env}"
        if first
        else "no environment in platform.yaml has `train: true`; train it with `aip run` elsewhere"
    )
    return (
        f"{model}: {where} is not registered, and '{ctx.env}' does not train "
        f"(platform.yaml environments.{ctx.env}.train: false; it only deploys registered versions): {how}"
    )


def train(
    ctx: Context,
    model: str,
    *,
    force: bool = False,
    seed: int | None = None,
    launch: dict[str, Any] | None = None,
    resume: bool = True,
) -> Candidate:
    """Train unless the fingerprint already has a registered version or a finished run.

    Processes, accumulation and checkpoints come from model.yaml's `environments.<env>.training`,
    with `launch` (the CLI's --nproc-per-node, --nnodes, ...; None values ignored) on top; world
    size > 1 runs torchrun workers that log into this run (pipelines/train/launch.py). An unfinished
    training run of the same fingerprint with a checkpoint is continued from it (`resume=False`:
    start over in a new run); a corrupt checkpoint is an error before anything runs.

    An environment with `train: false` (staging, prod) never trains: TrainingNotAllowed says where
    the fingerprint must be trained instead (--force is refused there too).
    `seed` trains model.yaml with another training seed (see fingerprint_of), with the same
    lineage as any version: params, metrics, data version, git commit, environment, artifacts."""
    if not force and (found := find_candidate(ctx, model, seed)) is not None:
        return found
    if not may_train(ctx):
        fp, _ = fingerprint_of(ctx, model, seed)
        message = not_registered_message(ctx, model, fp.digest)
        if force:
            message = f"{model}: '{ctx.env}' does not train (--force refused). " + message
        raise TrainingNotAllowed(message)
    import mlflow

    from pipelines.train.launch import LaunchPlan
    from pipelines.train.launch import train as run_training

    config = ctx.repo.model(model)
    if seed is not None:
        config = config.model_copy(update={"training": config.training.model_copy(update={"seed": seed})})
    dataset = ctx.repo.dataset(config.dataset)
    fp, data_version = fingerprint_of(ctx, model, seed)
    train_df, val_df = training_frames(ctx, config.dataset)
    plan = LaunchPlan.from_settings(config.environment(ctx.env).training, **(launch or {}))
    plan.check(None)  # too many processes for this machine: an error before anything starts
    out_dir = ctx.work_dir(model, fp.short) / ARTIFACT_KEY
    if out_dir.exists():
        shutil.rmtree(out_dir)
    if plan.node_rank > 0:  # another node of a multi-node job: train a share, node 0 logs the run
        frames = (train_df, val_df, out_dir)
        run_training(plan, config, dataset, *frames, work_dir=out_dir.parent, run_id=None, log_metrics=None,
                     checkpoint_dir=None)  # fmt: skip
        note = f"node {plan.node_rank} of {plan.nnodes} trained its share; node 0 logged the run and model"
        return Candidate(model, fp, data_version, "", "", notes=[note])

    exp = experiment_id(ctx.client, ctx.repo, model, ctx.env)
    checkpoints = out_dir.parent / "checkpoints"
    resumed = _resume_point(ctx, exp, fp.digest, checkpoints) if resume else None
    if resumed is None:
        shutil.rmtree(checkpoints, ignore_errors=True)
    tags = {
        FINGERPRINT_TAG: fp.digest,
        STEP_TAG: "train",
        ENV_TAG: ctx.env,
        "aip.git_commit": head_commit(ctx.repo.root),
        f"aip.data.{config.dataset}": data_version,
        **{f"aip.fingerprint.{k}": v for k, v in fp.parts.items()},
    }
    if fp.parts.get("model_code") == EMPTY_SHA256:  # shown as "none"; the digest keeps the hash
        tags["aip.fingerprint.model_code"] = "none"
    opened = (
        mlflow.start_run(run_id=resumed[0], tags=tags)
        if resumed is not None
        else mlflow.start_run(experiment_id=exp, run_name=f"train-{fp.short}", tags=tags)
    )
    with opened as run:
        checkpoints.mkdir(parents=True, exist_ok=True)
        (checkpoints / "run_id").write_text(run.info.run_id)  # whose checkpoints these are
        if resumed is None:  # a resumed run logged these when it started
            mlflow.log_dict(provenance.system(), "environment/system.json")
            mlflow.log_text(provenance.packages(), "environment/packages.txt")
            mlflow.log_dict({"digest": fp.digest, "parts": fp.parts}, "fingerprint.json")
            mlflow.log_artifact(str(ctx.repo.model_dir(model) / "model.yaml"), "config")
            _log_datasets(ctx, config.dataset, data_version, {"train": train_df, "validation": val_df})
        with PeakRss() as peak:
            result = run_training(
                plan,
                config,
                dataset,
                train_df,
                val_df,
                out_dir,
                work_dir=out_dir.parent,
                run_id=run.info.run_id,
                log_metrics=_log_epoch,
                checkpoint_dir=checkpoints,
                resume_from=resumed[1] if resumed is not None else None,
                checkpoint_current=resumed[2] if resumed is not None else None,
            )
        mlflow.log_params({k: param_text(v) for k, v in result.params.items()})
        # The per-epoch curves end at the last epoch; the saved weights are best_epoch's: log those.
        best = result.history[result.best_epoch - 1] if result.best_epoch else {}
        mlflow.log_metrics(
            {
                "train_seconds": result.seconds,
                # this run's peak, not the process's (pipelines/lifecycle/memory.py); rank 0's under torchrun
                "peak_rss_mb": peak.mb if plan.world_size == 1 else result.peak_rss_mb,
                "best_epoch": result.best_epoch,
                **{f"best_{k}": v for k, v in best.items() if k.startswith("val_")},
            }
        )
        info = log_model(result.artifact_dir)
        # Written last: only a run that got this far counts as a finished training run.
        mlflow.set_tag(MODEL_URI_TAG, info.model_uri)
    shutil.rmtree(checkpoints, ignore_errors=True)  # the model is logged: nothing left to resume
    return Candidate(
        model,
        fp,
        data_version,
        run.info.run_id,
        info.model_uri,
        local_dir=result.artifact_dir,
        trained_now=True,
    )


def _resume_point(ctx: Context, exp: str, fingerprint: str, local: Path) -> tuple[str, Path, str] | None:
    """(run id, verified checkpoint folder, its artifact slot) of the newest unfinished training run of
    `fingerprint` that saved a checkpoint; None when the newest run finished or none checkpointed.

    The local copy (`local`, this machine's work folder) is used when it holds that run's newest
    checkpoint; otherwise the run's checkpoint is downloaded from the artifact store."""
    import mlflow

    from pipelines.train.checkpoint import CHECKPOINT_TAG, latest_checkpoint, verify_checkpoint

    runs = ctx.client.search_runs(
        [exp],
        filter_string=f"tags.`{FINGERPRINT_TAG}` = '{fingerprint}' and tags.`{STEP_TAG}` = 'train'",
        order_by=["attributes.start_time DESC"],
        max_results=5,
    )
    run = next((r for r in runs if MODEL_URI_TAG in r.data.tags or CHECKPOINT_TAG in r.data.tags), None)
    if run is None or MODEL_URI_TAG in run.data.tags:
        return None
    run_id, slot = run.info.run_id, run.data.tags[CHECKPOINT_TAG]
    owner = local / "run_id"
    folder = latest_checkpoint(local) if owner.is_file() and owner.read_text() == run_id else None
    if folder is None:
        shutil.rmtree(local, ignore_errors=True)
        local.mkdir(parents=True)
        fetched = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=slot, dst_path=str(local))
        folder = Path(fetched)
        owner.write_text(run_id)
    verify_checkpoint(folder)
    return run_id, folder, slot


def training_frames(ctx: Context, dataset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The train and validation splits. A dataset with `features` (dataset.yaml) is read through its
    feature store: the split's keys, times and labels are the entity dataframe of a point-in-time
    `get_historical_features` (pipelines/features/training.py), so training sees what serving reads."""
    from pipelines.data import load_split

    splits = {name: load_split(ctx.repo, dataset, name) for name in ("train", "validation")}
    cfg = ctx.repo.dataset(dataset)
    if cfg.features is None:
        return splits["train"], splits["validation"]
    from pipelines.features import historical_frame, open_store

    opened = open_store(ctx.repo, dataset, ctx.env, online=False)
    train_df, val_df = (
        historical_frame(opened, frame, cfg.label_column, f"{dataset} data/splits/{name}.csv")
        for name, frame in splits.items()
    )
    return train_df, val_df


_DATASET_CONTEXT = {"train": "training", "validation": "validation", "test": "evaluation"}  # split -> role


def _log_datasets(ctx: Context, name: str, version: str, splits: dict[str, pd.DataFrame]) -> None:
    """Fill the runs table's Dataset column: each split under `<dataset>-<split>`, digest = the DVC
    data version (one version covers all three splits), source = the prepared splits folder."""
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    from pipelines.data import splits_dir

    label = ctx.repo.dataset(name).label_column
    source = str(splits_dir(ctx.repo, name))
    for split, frame in splits.items():
        context = _DATASET_CONTEXT[split]
        with warnings.catch_warnings():
            # MLflow registers its local-file source for both "" and "file" schemes and warns that
            # a path matches both; either is the same class.
            warnings.filterwarnings(
                "ignore", message=".*can be interpreted in multiple ways", category=UserWarning
            )
            # entity keys (tumour_id) are integers that are never missing; the hint is about serving
            warnings.filterwarnings(
                "ignore", message="Hint: Inferred schema contains integer column", category=UserWarning
            )
            data = from_pandas(frame, source=source, targets=label, name=f"{name}-{split}", digest=version)
            mlflow.log_input(data, context=context)  # infers the schema (and would warn) here


def _log_epoch(metrics: dict[str, float], epoch: int) -> None:
    import mlflow

    mlflow.log_metrics(metrics, step=epoch)


def log_model(artifact_dir: Path) -> Any:
    """Log the aip artifact in `artifact_dir` as an MLflow pyfunc model of the active run; its ModelInfo."""
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
def evaluate(ctx: Context, candidate: Candidate) -> EvaluationResult:
    """Evaluate the candidate on the held-out split against its gates and the env's champion."""
    import mlflow

    from pipelines.data import load_split
    from pipelines.evaluate import evaluate_model

    config = ctx.repo.model(candidate.model)
    dataset = ctx.repo.dataset(config.dataset)
    test_df = load_split(ctx.repo, config.dataset, "test")
    predictor = load_predictor(candidate.model_uri, local_dir=candidate.local_dir)

    champion_version = ctx.registry.alias_version(candidate.model, ctx.env)
    champion = None
    champion_label = None
    if champion_version is not None and str(champion_version.version) != candidate.version:
        champion = load_predictor(f"models:/{candidate.model}/{champion_version.version}")
        champion_label = f"v{champion_version.version} (@{ctx.env})"

    out_dir = ctx.report_dir(candidate.model)
    for stale in out_dir.iterdir():
        if stale.is_file():
            stale.unlink()
    about = {
        "candidate": f"v{candidate.version}" if candidate.version else "not registered yet",
        "training run": candidate.run_id,
        "fingerprint": candidate.fingerprint.short,
        "data version": f"{config.dataset} {candidate.data_version[:12]}",
    }
    result = evaluate_model(
        config,
        dataset,
        predictor,
        test_df,
        out_dir,
        champion=champion,
        champion_label=champion_label,
        about=about,
        explain=True,  # the SHAP section (model.yaml evaluation.explain); background: training rows
        background=load_split(ctx.repo, config.dataset, "train") if predictor.kind == "tabular" else None,
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
    # The champion is in the name: the same candidate evaluated against two champions is two runs.
    versus = f"vs-v{champion_version.version}" if champion_version else "no-champion"
    name = f"evaluate-{candidate.fingerprint.short}-{ctx.env}-{versus}"
    # The run's description (markdown in the MLflow UI) links the candidate's training run.
    note = f"Evaluation of [training run {candidate.run_id[:8]}](#/experiments/{exp}/runs/{candidate.run_id})"
    if champion_version is not None:
        v = champion_version.version
        note += f" against [v{v}](#/models/{candidate.model}/versions/{v})"
    tags["mlflow.note.content"] = note + f" (@{ctx.env}). Report: artifacts, evaluation/report.html."
    with mlflow.start_run(experiment_id=exp, run_name=name, tags=tags):
        _log_datasets(ctx, config.dataset, candidate.data_version, {"test": test_df})
        mlflow.log_metrics({f"test_{k}": v for k, v in result.metrics.items() if _finite(v)})
        if result.champion_metrics:
            mlflow.log_metrics({f"champion_{k}": v for k, v in result.champion_metrics.items() if _finite(v)})
        for gate in result.gates:
            mlflow.set_tag(f"aip.gate.{gate.gate}", ("pass: " if gate.passed else "FAIL: ") + gate.message)
        mlflow.log_artifact(str(result.report_md), "evaluation")
        mlflow.log_artifact(str(result.report_html), "evaluation")
        for plot in result.plots:
            mlflow.log_artifact(str(plot), "evaluation/plots")
        if result.explanations is not None:  # read by the model card (pipelines/explain/document.py)
            mlflow.log_artifact(str(result.explanations), "evaluation")
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
    return {
        **run.data.tags,
        **{f"metric.{k}": str(v) for k, v in run.data.metrics.items()},
        EVALUATION_RUN: run.info.run_id,
    }


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
        # the evaluation the model card (pipelines/cards) reads intervals and behavioural results from
        **({EVALUATION_RUN: evaluation[EVALUATION_RUN]} if EVALUATION_RUN in evaluation else {}),
        **{k: v for k, v in evaluation.items() if k.startswith("aip.gate.")},
        **{f"aip.{k}": v for k, v in evaluation.items() if k.startswith("metric.test_")},
    }
    version = ctx.registry.register(
        candidate.model,
        candidate.model_uri,
        candidate.run_id,
        tags,
        description=_description(ctx, candidate, evaluation),
    )
    candidate.version = str(version.version)
    card(ctx, candidate.model, candidate.version)
    return candidate.version


def card(ctx: Context, model: str, version: str) -> str:
    """Write and log the model card of `model` v`version` (pipelines/cards): after every registration
    here, and after deploys (pipelines/lifecycle/run.py). Returns the `aip.card` URI ("" if none).

    Never fails the step (the version is registered either way): missing facts are listed on the card
    and warned about here; `aip card --check` is the check that fails on them."""
    from pipelines.cards import publish_card
    from pipelines.observability import logs

    try:
        published = publish_card(ctx, model, version)
    except Exception as exc:
        if not is_expected(exc):
            raise
        logs.progress(f"warning: {model} v{version}: no model card: {exc}")
        return ""
    for gap in published.card.gaps:
        logs.progress(f"warning: {model} v{version}: model card incomplete: {gap}")
    return published.uri


def _description(ctx: Context, candidate: Candidate, evaluation: dict[str, str]) -> str:
    """The version's description (markdown in the MLflow UI): where it came from, with links."""
    exp = experiment_id(ctx.client, ctx.repo, candidate.model, ctx.env)
    run = ctx.client.get_run(candidate.run_id)
    commit = run.data.tags.get("aip.git_commit", "unknown")[:12]
    lines = [
        f"Fingerprint `{candidate.fingerprint.short}`, trained by "
        f"[run {candidate.run_id[:8]}](#/experiments/{exp}/runs/{candidate.run_id}) "
        f"at git `{commit}` on data `{candidate.data_version[:12]}`."
    ]
    if (eval_run := evaluation.get(EVALUATION_RUN)) is not None:
        metrics = ", ".join(
            f"{k.removeprefix('metric.test_')} {float(v):.4f}"
            for k, v in sorted(evaluation.items())
            if k.startswith("metric.test_") and k.removeprefix("metric.test_") in _DESCRIBED
        )
        lines.append(
            f"Gates {evaluation.get(GATES_TAG, 'unknown')} in [evaluation {eval_run[:8]}]"
            f"(#/experiments/{exp}/runs/{eval_run}) ({evaluation.get(ENV_TAG, ctx.env)}): {metrics}."
        )
    return "\n\n".join(lines)


def set_alias(ctx: Context, candidate: Candidate) -> str | None:
    """Point the environment alias at the candidate's version; return the previous version."""
    if candidate.version is None:
        raise StepFailed(f"{candidate.model}: register before setting the '{ctx.env}' alias")
    return ctx.registry.set_alias(candidate.model, ctx.env, candidate.version)


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start
