"""`aip drift <model> --env ENV`: a window of sampled requests against the training reference.

    aip drift tumor-classifier --env prod                       # the last monitoring.window_days
    aip drift tumor-classifier --since 2026-11-01 --until 2026-11-08
    aip drift topic-classifier --feedback labels.jsonl          # live quality from arrived labels

The reference is the model's training split (`pipelines.data.load_split(..., "train")`). Checks:
- tabular inputs: every feature, numerical or categorical (stats.py; Evidently's defaults);
  dataset drift when at least `drift_share` of the features drift;
- text inputs: embedding drift (text.py), length and out-of-vocabulary statistics;
- predictions: the predicted-class distribution against the reference's (the registered model's
  predictions on the reference when it loads, else the reference labels);
- live quality: accuracy and macro-F1 on window requests whose labels arrived (a feedback file or URL).
Exit codes: 0 no drift; 3 drift (the model's thresholds passed); 4 insufficient data (a window with
fewer than monitoring.min_samples samples is never "no drift"); 1 error; 2 bad usage.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipelines.errors import AipError
from pipelines.http import request
from pipelines.monitoring.sink import SampleSink, sink_uri
from pipelines.monitoring.stats import ColumnResult, compare_column
from pipelines.observability.push import Batch

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.repo.layout import Repo

EXIT_NO_DRIFT = 0
EXIT_DRIFT = 3
EXIT_INSUFFICIENT = 4
_CATEGORICAL_MAX_UNIQUE = 5  # Evidently: a numeric column with <= 5 distinct values is categorical

Status = Literal["drift", "no_drift", "insufficient_data"]
ReferencePredictions = Literal["auto", "model", "labels"]


class DriftError(AipError):
    """A drift check that cannot run (unknown model, no reference, unreadable feedback)."""


@dataclass
class DriftReport:
    model: str
    env: str
    status: Status
    since: str
    until: str
    samples: int
    min_samples: int
    versions: list[str]
    reference_rows: int
    features: list[ColumnResult] = field(default_factory=list)
    dataset_drift: dict[str, Any] | None = None
    text: dict[str, Any] | None = None
    prediction: dict[str, Any] | None = None
    quality: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plots: dict[str, Any] = field(default_factory=dict)  # data for report.py, not serialised

    @property
    def exit_code(self) -> int:
        return {"drift": EXIT_DRIFT, "no_drift": EXIT_NO_DRIFT, "insufficient_data": EXIT_INSUFFICIENT}[
            self.status
        ]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("plots")
        if data["text"]:
            data["text"].pop("embeddings", None)
        data["exit_code"] = self.exit_code
        return data


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _window_frame(records: list[dict[str, Any]], kind: str, text_column: str | None) -> pd.DataFrame:
    import pandas as pd

    if kind == "text":
        texts = [
            r["inputs"][text_column or "text"] if isinstance(r["inputs"], dict) else r["inputs"]
            for r in records
        ]
        return pd.DataFrame({text_column or "text": [str(t) for t in texts]})
    return pd.DataFrame([r["inputs"] for r in records])


def _is_numeric(series: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(series)) and series.nunique() > _CATEGORICAL_MAX_UNIQUE


def _tabular(
    reference: pd.DataFrame, window: pd.DataFrame, features: list[str], thresholds: Any, report: DriftReport
) -> None:
    import pandas as pd

    missing = [f for f in features if f not in window.columns]
    if missing:
        report.notes.append(
            f"{len(missing)} feature(s) absent from the samples, not tested: {', '.join(missing)}"
        )
    for feature in (f for f in features if f in window.columns):
        ref = reference[feature].dropna()
        numeric = _is_numeric(ref)
        cur = (
            pd.to_numeric(window[feature], errors="coerce").dropna() if numeric else window[feature].dropna()
        )
        if len(cur) == 0:
            report.notes.append(f"{feature}: no usable values in the window, not tested")
            continue
        report.features.append(compare_column(feature, list(ref), list(cur), thresholds, is_numeric=numeric))
    tested = len(report.features)
    drifted = sum(r.drifted for r in report.features)
    share = drifted / tested if tested else 0.0
    report.dataset_drift = {
        "features_tested": tested,
        "features_drifted": drifted,
        "share": share,
        "threshold": thresholds.drift_share,
        "drifted": tested > 0 and share >= thresholds.drift_share,
    }
    if report.dataset_drift["drifted"]:
        report.reasons.append(
            f"dataset drift: {drifted} of {tested} features drifted "
            f"({share:.0%} >= {thresholds.drift_share:.0%})"
        )


def _reference_predictions(
    repo: Repo, model: str, env: str, reference: pd.DataFrame, inputs: Any, label_column: str, mode: str
) -> tuple[list[str], str]:
    if mode in ("auto", "model"):
        try:
            from pipelines.registry.context import Context
            from pipelines.registry.loader import load_predictor

            ctx = Context.open(repo, env)
            version = ctx.registry.alias_version(model, env)
            if version is None:
                raise DriftError(f"no version of {model} has the alias @{env}")
            predictor = load_predictor(f"models:/{model}/{version.version}")
            return [
                str(p) for p in predictor.predict(inputs)
            ], f"model v{version.version} @{env} on the reference"
        except Exception as exc:
            if mode == "model":
                raise DriftError(f"reference predictions from the registered model failed: {exc}") from exc
            return [
                str(v) for v in reference[label_column]
            ], f"reference labels (registered model unavailable: {exc})"
    return [str(v) for v in reference[label_column]], "reference labels"


def load_feedback(source: str) -> dict[tuple[str, int], str]:
    """Arrived labels: JSON lines (or a JSON array) of {request_id, index (default 0), label}, from a
    file, a folder of *.jsonl files or an http(s) endpoint."""
    if source.startswith(("http://", "https://")):
        _, body = request("GET", source, timeout=30)  # HttpError / Unreachable name the URL
        texts = [body.decode()]
    else:
        path = Path(source)
        if not path.exists():
            raise DriftError(f"feedback {source} does not exist (expected a .jsonl file, a folder or a URL)")
        files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        texts = [f.read_text() for f in files]
    labels: dict[tuple[str, int], str] = {}
    for text in texts:
        stripped = text.strip()
        rows = (
            json.loads(stripped)
            if stripped.startswith("[")
            else [json.loads(x) for x in stripped.splitlines() if x.strip()]
        )
        for row in rows:
            try:
                labels[(str(row["request_id"]), int(row.get("index", 0)))] = str(row["label"])
            except (KeyError, TypeError, ValueError) as exc:
                raise DriftError(
                    f"feedback {source}: each row needs request_id and label, got {row!r}"
                ) from exc
    return labels


def _quality(
    records: list[dict[str, Any]], labels: dict[tuple[str, int], str], thresholds: Any
) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    pairs = [
        (labels[(str(r["request_id"]), int(r.get("index", 0)))], str(r["prediction"]))
        for r in records
        if (str(r["request_id"]), int(r.get("index", 0))) in labels and r.get("prediction") is not None
    ]
    if not pairs:
        return {"labelled": 0}
    truth, predicted = zip(*pairs, strict=True)
    accuracy = float(accuracy_score(truth, predicted))
    minimum = thresholds.min_live_accuracy
    return {
        "labelled": len(pairs),
        "accuracy": accuracy,
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "min_accuracy": minimum,
        "below_minimum": minimum is not None and accuracy < minimum,
    }


def check(
    repo: Repo,
    model: str,
    env: str,
    *,
    since: datetime,
    until: datetime,
    version: str | None = None,
    sink: str | None = None,
    feedback: str | None = None,
    reference_predictions: ReferencePredictions = "auto",
) -> DriftReport:
    """Run every drift check of one model over [since, until)."""
    from pipelines.data import load_split

    if model not in repo.model_names():
        raise DriftError(f"unknown model '{model}' (models/ has: {', '.join(repo.model_names())})")
    config = repo.model(model)
    monitoring = config.monitoring
    dataset = repo.dataset(config.dataset)
    thresholds = monitoring.drift

    location = sink or sink_uri(repo, env)
    say(f"==> {model}: samples from {location} ({since:%Y-%m-%d %H:%M} .. {until:%Y-%m-%d %H:%M} UTC)")
    records = SampleSink(location).read(model, since, until, version)
    say(f"==> {model}: reference: {config.dataset} train split")
    reference = load_split(repo, config.dataset, "train")
    report = DriftReport(
        model=model,
        env=env,
        status="no_drift",
        since=since.isoformat(),
        until=until.isoformat(),
        samples=len(records),
        min_samples=monitoring.min_samples,
        versions=sorted({str(r["version"]) for r in records}),
        reference_rows=len(reference),
    )
    if not monitoring.sampling:
        report.notes.append(
            "monitoring.sampling is false (privacy): the servers write no samples for this model"
        )
    if len(records) < monitoring.min_samples:
        report.status = "insufficient_data"
        report.reasons.append(
            f"insufficient data: {len(records)} sample(s) in the window, at least {monitoring.min_samples} "
            "needed (monitoring.min_samples); this is not a 'no drift' result"
        )
        return report

    label_column = dataset.label_column
    window = _window_frame(records, dataset.kind, dataset.text_column)
    if dataset.kind == "text":
        from pipelines.monitoring.text import text_drift

        column = dataset.text_column or "text"
        say(f"==> {model}: text drift (MiniLM embeddings of up to 1,000 texts per side)")
        report.text = text_drift(list(reference[column]), list(window[column]), thresholds.embedding_roc_auc)
        if report.text["drifted"]:
            report.reasons.append(
                f"text drift: embedding classifier ROC AUC {report.text['roc_auc']:.3f} >= "
                f"{thresholds.embedding_roc_auc}"
            )
        reference_inputs: Any = list(reference[column])
    else:
        keys = {label_column, *dataset.key_columns}  # a feature store's entity and time are no inputs
        features = [c for c in reference.columns if c not in keys]
        say(f"==> {model}: {len(features)} features, {len(records)} samples against {len(reference)} rows")
        _tabular(reference, window, features, thresholds, report)
        reference_inputs = reference[features]

    predicted = [str(r["prediction"]) for r in records if r.get("prediction") is not None]
    if predicted:
        ref_predictions, source = _reference_predictions(
            repo, model, env, reference, reference_inputs, label_column, reference_predictions
        )
        result = compare_column("prediction", ref_predictions, predicted, thresholds, is_numeric=False)
        report.prediction = {**asdict(result), "reference": source}
        report.plots["prediction"] = (ref_predictions, predicted)
        if result.drifted:
            report.reasons.append(
                f"prediction drift: {result.method} {result.score:.4g} vs threshold {result.threshold}"
            )
    else:
        report.notes.append("the samples carry no predictions: prediction drift not tested")

    labels: dict[tuple[str, int], str] = {}
    default_feedback = f"{location.rstrip('/')}/feedback/model={model}"
    for source in [feedback] if feedback else ([default_feedback] if Path(default_feedback).is_dir() else []):
        labels.update(load_feedback(source))
    if labels:
        report.quality = _quality(records, labels, thresholds)
        if report.quality.get("below_minimum"):
            report.reasons.append(
                f"live accuracy {report.quality['accuracy']:.3f} below {thresholds.min_live_accuracy}"
            )
    report.plots["reference"] = reference
    report.plots["window"] = window
    report.status = "drift" if report.reasons else "no_drift"
    return report


def metric_batch(report: DriftReport, now: float | None = None) -> Batch:
    """The `drift` catalogue metrics of one check, as a push batch."""
    keep = {
        "aip_drift_detected",
        "aip_drift_score",
        "aip_drift_drifted_features_ratio",
        "aip_drift_live_quality_score",
    }
    batch = Batch("aip-drift", {"model": report.model, "env": report.env}, keep=keep)
    batch.add("aip_drift_last_run_timestamp_seconds", time.time() if now is None else now)
    batch.add("aip_drift_window_samples", report.samples)
    if report.status == "insufficient_data":
        return batch  # the last real verdict stays in place: insufficient data is not "no drift"
    batch.keep = set()
    batch.add("aip_drift_detected", 1 if report.status == "drift" else 0)
    if report.dataset_drift is not None:
        batch.add("aip_drift_drifted_features_ratio", report.dataset_drift["share"])
    for result in report.features:
        for method, value in result.stats.items():
            batch.add("aip_drift_score", value, feature=result.feature, method=method)
    if report.prediction:
        for method, value in report.prediction["stats"].items():
            batch.add("aip_drift_score", value, feature="prediction", method=method)
    if report.text:
        batch.add("aip_drift_score", report.text["roc_auc"], feature="text_embedding", method="roc_auc")
        batch.add(
            "aip_drift_score",
            report.text["mean_embedding_distance"],
            feature="text_embedding",
            method="mean_distance",
        )
        batch.add(
            "aip_drift_score", report.text["length_ks_p_value"], feature="text_length", method="ks_p_value"
        )
        batch.add("aip_drift_score", report.text["oov_rate_current"], feature="text_oov", method="oov_rate")
    if report.quality and report.quality.get("labelled"):
        for metric in ("accuracy", "macro_f1"):
            batch.add("aip_drift_live_quality_score", report.quality[metric], metric=metric)
    return batch
