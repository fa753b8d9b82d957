"""Gather one registered version's model card from what the platform already knows.

Sources, each named on the card:
- model.yaml (description, owner, task, base model, `card:` section) and platform.yaml (teams);
- dataset.yaml (licence, source) and the version's `aip.data.<dataset>` tag (data version);
- the training run (params, dataset inputs with row counts, fingerprint parts, git commit);
- the version's tags (`aip.metric.test_*`, `aip.gate.*`, `aip.deploy.<env>.*`, `aip.previous.<env>`)
  and aliases;
- the evaluation run that passed the gates for this fingerprint (report.md for intervals and behavioural
  results, `evaluation/explanations.json` for SHAP importances when logged).
A required fact that is missing becomes a Gap: `aip card --check` fails on any.
"""

from __future__ import annotations

import json
import math
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pipelines.cards.card import BehaviouralRow, DeployRecord, Gap, GateRow, MetricRow, ModelCard
from pipelines.cards.explanations import parse_explanations
from pipelines.cards.report_tables import markdown_tables
from pipelines.config import METRICS
from pipelines.registry.store import FINGERPRINT_TAG, STEP_TAG
from pipelines.registry.tracking import experiment_id

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion

    from pipelines.cards.slices import SliceResult
    from pipelines.registry.context import Context

__all__ = ["EVALUATION_RUN_TAG", "build_card"]

EVALUATION_RUN_TAG = "aip.evaluation_run"  # on a version: the evaluation run that passed its gates
_GATES_TAG = "aip.gates"
_DEPLOY_FIELDS = ("verdict", "reason", "finished", "report")  # aip.deploy.<env>.<field> (pipelines/deploy)
_SPLIT_CONTEXT = {
    "training": "train",
    "validation": "validation",
    "evaluation": "test",
}  # MLflow input context
_SLICES: dict[tuple[object, ...], SliceResult] = {}  # (registry, model, version, data, columns) -> result


def build_card(ctx: Context, model: str, version: str, *, slices: bool = True) -> ModelCard:
    """The card of `model` v`version`; `slices=False` skips re-predicting the test split."""
    repo = ctx.repo
    config = repo.model(model)
    model_yaml = f"{repo.model_dir(model).relative_to(repo.root)}/model.yaml"
    mv = ctx.client.get_model_version(model, version)
    card = ModelCard(model, str(mv.version), generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    subject = f"{model} v{mv.version}"

    # who, what, for whom
    card.facts = {
        "description": config.description,
        "owner": repo.platform.organisation.team_handle(config.owner),
        "task": config.task,
        "registered": _when(mv.creation_timestamp),
        "aliases now": ", ".join(f"@{a}" for a in sorted(mv.aliases)) or "none",
    }
    base = getattr(config, "base_model", None)
    if base is not None:
        card.facts["base model"] = f"{base.package} (PyPI; import {base.module})"
    if config.card is None:
        card.gaps.append(Gap(model_yaml, "card.intended_use", "a `card:` section with intended_use"))
    else:
        card.intended_use = config.card.intended_use
        card.out_of_scope = list(config.card.out_of_scope)
        card.limitations = list(config.card.limitations)
        card.ethical_considerations = list(config.card.ethical_considerations)

    # training run: params, lineage, row counts
    run = _run(ctx, mv.run_id)
    if run is None:
        card.gaps.append(
            Gap(subject, "training run", f"the run that logged the model (run id '{mv.run_id}')")
        )
    else:
        card.training = dict(sorted(run.data.params.items()))

    # data
    dataset = repo.dataset(config.dataset)
    data_tag = f"aip.data.{config.dataset}"
    data_version = mv.tags.get(data_tag, "")
    if not data_version:
        card.gaps.append(Gap(subject, f"tag {data_tag}", "the DVC data version it was trained on"))
    card.data = {
        "dataset": f"{dataset.name}: {dataset.description}",
        "licence": dataset.license,
        "source": dataset.source,
        "data version": data_version or "unknown",
    }

    # evaluation
    fingerprint = mv.tags.get(FINGERPRINT_TAG, "")
    if not fingerprint:
        card.gaps.append(Gap(subject, f"tag {FINGERPRINT_TAG}", "the fingerprint it was registered under"))
    evaluation = _evaluation_run(ctx, model, mv, fingerprint)
    rows = _rows(run) | (_rows(evaluation) if evaluation is not None else {})
    for split in ("train", "validation", "test"):
        card.data[f"rows ({split})"] = rows.get(split, "not logged")
    if evaluation is None:
        card.gaps.append(
            Gap(
                subject,
                "evaluation run",
                f"a finished evaluation of fingerprint {fingerprint[:12]} that passed its gates",
            )
        )
    _metrics_and_gates(card, mv)
    if evaluation is not None:
        tags = evaluation.data.tags
        champion = tags.get("aip.champion_version", "none")
        card.evaluation = {
            "evaluation run": evaluation.info.run_id,
            "environment": tags.get("aip.env", "unknown"),
            "compared with": f"v{champion}" if champion != "none" else "no champion (first version)",
            "gates": tags.get(_GATES_TAG, "unknown"),
            "evaluated": _when(evaluation.info.start_time),
        }
        _from_report(ctx, card, evaluation.info.run_id)
    else:
        card.behavioural_note = card.explanations_note = "no evaluation run found"

    # fairness and slices
    columns = list(config.card.slices) if config.card is not None else []
    card.fairness_note = (
        f"Slice columns declared in model.yaml card.slices: {', '.join(columns)}."
        if columns
        else (
            f"{dataset.name} declares no sensitive attribute and model.yaml names no slice column "
            "(card.slices), so no fairness comparison across groups of people is possible; "
            "the per-class metrics below are the only slices."
        )
    )
    if slices and data_version:
        from pipelines.cards.slices import compute_slices

        key = (ctx.client.tracking_uri, model, card.version, data_version, tuple(columns))
        found = _SLICES.get(key) or compute_slices(repo, model, card.version, data_version, columns)
        if found.tables:
            _SLICES[key] = found  # a card refreshed after a deploy in this process re-predicts nothing
        card.slices, card.slices_note = found.tables, found.note
        card.gaps += found.gaps
    else:
        card.slices_note = "not computed" + ("" if data_version else ": no data version on the version")

    card.deploys = _deploys(ctx, mv)
    card.lineage = _lineage(ctx, model, mv, run, evaluation, fingerprint, data_version)
    return card


def _when(millis: int | None) -> str:
    if not millis:
        return "unknown"
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _run(ctx: Context, run_id: str | None) -> Run | None:
    from mlflow.exceptions import MlflowException

    if not run_id:
        return None
    try:
        return ctx.client.get_run(run_id)
    except MlflowException:
        return None


def _rows(run: Run | None) -> dict[str, str]:
    """Split -> row count from the run's dataset inputs (logged by the train and evaluate steps)."""
    if run is None or run.inputs is None:
        return {}
    found = {}
    for item in run.inputs.dataset_inputs:
        context = next((t.value for t in item.tags if t.key == "mlflow.data.context"), "")
        split = _SPLIT_CONTEXT.get(context)
        try:
            profile = json.loads(item.dataset.profile or "{}")
        except ValueError:
            continue
        if split is not None and isinstance(profile, dict) and "num_rows" in profile:
            found[split] = str(profile["num_rows"])
    return found


def _evaluation_run(ctx: Context, model: str, mv: ModelVersion, fingerprint: str) -> Run | None:
    """The evaluation recorded on the version, else the newest passed one of its fingerprint that
    started before the version was registered (the one registration read), else the newest passed."""
    recorded = _run(ctx, mv.tags.get(EVALUATION_RUN_TAG))
    if recorded is not None or not fingerprint:
        return recorded
    exp = experiment_id(ctx.client, ctx.repo, model, ctx.env)
    runs = ctx.client.search_runs(
        [exp],
        filter_string=(
            f"tags.`{FINGERPRINT_TAG}` = '{fingerprint}' and tags.`{STEP_TAG}` = 'evaluate' "
            f"and tags.`{_GATES_TAG}` = 'passed' and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=50,
    )
    before = [r for r in runs if r.info.start_time <= (mv.creation_timestamp or 0)]
    chosen = before or runs
    return chosen[0] if chosen else None


def _metrics_and_gates(card: ModelCard, mv: ModelVersion) -> None:
    for name in METRICS:
        raw = mv.tags.get(f"aip.metric.test_{name}")
        if raw is None:
            continue
        value = float(raw)
        if math.isfinite(value):
            better = "higher" if METRICS[name] else "lower"
            card.metrics.append(MetricRow(name, better, value, "—", "—"))
    for key, text in sorted(mv.tags.items()):
        if key.startswith("aip.gate."):
            passed = text.startswith("pass")
            card.gates.append(GateRow(passed, key.removeprefix("aip.gate."), text.split(": ", 1)[-1]))
    if not card.metrics:
        card.gaps.append(
            Gap(
                f"{card.model} v{card.version}",
                "tags aip.metric.test_*",
                "the test metrics it was registered with",
            )
        )


def _download(ctx: Context, run_id: str, path: str, into: Path) -> Path | None:
    """The artifact at `path` of the run, or None when the run did not log it."""
    import mlflow
    from mlflow.exceptions import MlflowException

    folder, _, name = path.rpartition("/")
    try:
        if name not in {Path(a.path).name for a in ctx.client.list_artifacts(run_id, folder)}:
            return None
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=path, dst_path=str(into), tracking_uri=ctx.client.tracking_uri
        )
    except (MlflowException, OSError):
        return None
    return Path(local)


def _from_report(ctx: Context, card: ModelCard, run_id: str) -> None:
    """Intervals, baseline and behavioural cases from report.md; importances from explanations.json."""
    with tempfile.TemporaryDirectory(prefix="aip-card-") as tmp:
        report = _download(ctx, run_id, "evaluation/report.md", Path(tmp))
        explained = _download(ctx, run_id, "evaluation/explanations.json", Path(tmp))
        tables = markdown_tables(report.read_text(encoding="utf-8")) if report is not None else {}
        if explained is not None:
            try:
                card.explanations, card.explanations_note = parse_explanations(
                    json.loads(explained.read_text())
                )
            except ValueError as exc:
                card.explanations_note = f"evaluation/explanations.json is not JSON: {exc}"
        else:
            card.explanations_note = (
                "no explanation logged (evaluation/explanations.json is absent from the run)"
            )
    metric_rows = next((rows for heading, rows in tables.items() if heading.startswith("Metrics")), [])
    by_metric = {row.get("metric", ""): row for row in metric_rows}
    ci = next((k for row in metric_rows for k in row if k.endswith("CI") and not k.startswith("change")), "")
    card.metrics = [
        MetricRow(
            m.metric,
            m.better,
            m.value,
            by_metric.get(m.metric, {}).get(ci, "—") if ci else "—",
            by_metric.get(m.metric, {}).get("majority baseline", "—"),
        )
        for m in card.metrics
    ]
    if report is None:
        card.behavioural_note = "the evaluation run logged no evaluation/report.md"
        return
    behavioural = tables.get("Behavioural tests", [])
    card.behavioural = [
        BehaviouralRow(r.get("result") == "PASS", r.get("kind", ""), r.get("case", ""), r.get("detail", ""))
        for r in behavioural
    ]
    if not card.behavioural:
        card.behavioural_note = "no behavioural cases in model.yaml"


def _deploys(ctx: Context, mv: ModelVersion) -> list[DeployRecord]:
    aliases = set(mv.aliases)
    records = []
    for env in ctx.repo.platform.environments:
        fields = {f: mv.tags.get(f"aip.deploy.{env}.{f}", "") for f in _DEPLOY_FIELDS}
        previous = mv.tags.get(f"aip.previous.{env}", "")
        if env in aliases or any(fields.values()) or previous:
            records.append(DeployRecord(env, env in aliases, previous=previous, **fields))
    return records


def _ui_base(uri: str) -> str | None:
    """The MLflow UI base of an http(s) tracking URI without credentials; None for local stores."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or parts.username or parts.password:
        return None
    return uri.rstrip("/")


def _lineage(
    ctx: Context,
    model: str,
    mv: ModelVersion,
    run: Run | None,
    evaluation: Run | None,
    fingerprint: str,
    data_version: str,
) -> dict[str, str]:
    tags: dict[str, Any] = run.data.tags if run is not None else {}
    lineage = {
        "fingerprint": fingerprint or "unknown",
        **{
            f"fingerprint part {k.removeprefix('aip.fingerprint.')}": str(v)
            for k, v in sorted(tags.items())
            if k.startswith("aip.fingerprint.")
        },
        "git commit": str(mv.tags.get("aip.git_commit") or tags.get("aip.git_commit", "unknown")),
        "data version": data_version or "unknown",
        "model source": str(mv.source),
        "training run": mv.run_id or "unknown",
        "evaluation run": evaluation.info.run_id if evaluation is not None else "none found",
    }
    base = _ui_base(ctx.client.tracking_uri)
    if base is not None and run is not None:
        lineage["training run link"] = f"{base}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
        lineage["version link"] = f"{base}/#/models/{model}/versions/{mv.version}"
    elif run is not None:
        lineage["open in MLflow"] = f"`aip ui --env {ctx.env}`, experiment aip/{model}, run {run.info.run_id}"
    return lineage
