"""Evaluate a model artifact on the held-out test split: metrics, gates, behavioural tests, report.

    from pipelines.artifacts import load
    from pipelines.evaluate import evaluate_model
    result = evaluate_model(model_config, dataset_config, load("out/model"), test_df, Path("out/eval"),
                            champion=load(champion_dir), champion_label="prod v3",
                            about={"candidate run": run_id, "fingerprint": fp_short})
    print(result.summary()); raise SystemExit(0 if result.passed else 1)

A champion, when given, is evaluated on the SAME test split, so the comparison stays fair when the
data changed since the champion was registered. Both are resampled on the same rows for the
bootstrap intervals of the change (pipelines/evaluate/bootstrap.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.config import DatasetConfig, TabularClassifierConfig, TextClassifierConfig
from pipelines.evaluate.behavioural import BehaviouralResult, pass_counts, run_behavioural
from pipelines.evaluate.bootstrap import Bootstrap, Interval
from pipelines.evaluate.gates import GateResult, check_gates, check_pass_rate
from pipelines.evaluate.report import change_in_words

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.artifacts import Predictor

__all__ = ["EvaluationResult", "evaluate_model", "predict_split"]

_SUMMARY_METRICS = ("accuracy", "macro_f1", "roc_auc", "log_loss", "ece")  # shown besides the primary


@dataclass
class EvaluationResult:
    metrics: dict[str, float]
    """Every METRICS name on the test split (NaN where not computable)."""
    champion_metrics: dict[str, float] | None
    """The champion's metrics on the same split, or None without a champion."""
    gates: list[GateResult]
    """Metric gates from model.yaml, then one pass-rate gate per behavioural kind."""
    behavioural: list[BehaviouralResult]
    passed: bool
    """All gates passed."""
    report_md: Path
    report_html: Path
    plots: list[Path]
    primary_metric: str = "macro_f1"
    intervals: Bootstrap | None = None
    """Bootstrap intervals of the metrics and of the change vs the champion."""
    baseline_metrics: dict[str, float] = field(default_factory=dict)
    """The majority-class baseline's metrics on the same split (findings.baseline_proba)."""
    findings: list[str] = field(default_factory=list)
    """Headline sentences: positive-class sensitivity, low-recall classes, the baseline."""
    explanations: Path | None = None
    """explanations.json (pipelines/explain/document.py), None when not asked for."""

    def _interval(self, metric: str) -> Interval | None:
        return self.intervals.candidate.get(metric) if self.intervals else None

    def _change(self, metric: str) -> Interval | None:
        return self.intervals.change.get(metric) if self.intervals and self.intervals.change else None

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    def summary(self) -> str:
        """One screen: verdict, failing gates first (gate, value, threshold), key metrics, passes."""
        failed = self.failed_gates
        lines = [
            f"evaluation {'PASSED' if self.passed else 'FAILED'}: "
            f"{len(self.gates) - len(failed)}/{len(self.gates)} gates passed"
        ]
        for g in failed:
            lines.append(f"  FAIL  {g.gate}: {g.message}")
        shown = [self.primary_metric] + [m for m in _SUMMARY_METRICS if m != self.primary_metric]
        for name in shown:
            value = self.metrics.get(name, math.nan)
            if math.isnan(value):
                continue
            line = f"  {name:<12} {value:.4f}"
            if (interval := self._interval(name)) is not None:
                line += f" {interval}"
            if self.champion_metrics is not None and not math.isnan(
                self.champion_metrics.get(name, math.nan)
            ):
                champion = self.champion_metrics[name]
                change = change_in_words(value, champion, name, self._change(name))
                line += f"   champion {champion:.4f}  ({change})"
            lines.append(line)
        for g in self.gates:
            if g.passed:
                lines.append(f"  pass  {g.gate}: {g.message}")
        lines += [f"  note  {f}" for f in self.findings]
        lines.append(f"  report: {self.report_html}")
        return "\n".join(lines)


def predict_split(predictor: Predictor, test_df: pd.DataFrame, dataset: DatasetConfig) -> Any:
    """Class probabilities of the model on the split (columns in `predictor.labels` order)."""
    if predictor.kind == "text":
        column = dataset.text_column or "text"
        return predictor.predict_proba(test_df[column].astype(str).tolist())
    return predictor.predict_proba(test_df)


def evaluate_model(
    config: TextClassifierConfig | TabularClassifierConfig,
    dataset: DatasetConfig,
    predictor: Predictor,
    test_df: pd.DataFrame,
    out_dir: Path,
    *,
    champion: Predictor | None = None,
    champion_label: str | None = None,
    about: Mapping[str, str] | None = None,
    explain: bool = False,
    background: pd.DataFrame | None = None,
) -> EvaluationResult:
    """Metrics, gates, behavioural tests, plots and report (report.md/.html, plots/*.png in out_dir).

    `about` heads the report (version, run id, fingerprint, data version); without it the
    report names the artifact folder instead. `explain` adds the SHAP section and explanations.json
    (pipelines/explain; model.yaml `evaluation.explain`), tabular models against a sample of
    `background` (the training split); `aip evaluate`/`aip run` ask for it, hermetic callers need not.
    """
    import numpy as np

    from pipelines.evaluate.bootstrap import bootstrap
    from pipelines.evaluate.findings import baseline_proba, findings
    from pipelines.evaluate.metrics import compute_metrics
    from pipelines.evaluate.plots import make_plots
    from pipelines.evaluate.report import Report, write_reports

    out_dir.mkdir(parents=True, exist_ok=True)
    y_true = test_df[dataset.label_column].astype(str).tolist()

    # 1. task metrics of the candidate and, on the same rows, of the champion
    proba = predict_split(predictor, test_df, dataset)
    metrics = compute_metrics(y_true, proba, predictor.labels)
    index = {label: i for i, label in enumerate(predictor.labels)}
    y = np.array([index[v] for v in y_true])
    champion_metrics = champion_proba = champion_y = None
    if champion is not None:
        champion_proba = predict_split(champion, test_df, dataset)
        champion_metrics = compute_metrics(y_true, champion_proba, champion.labels)
        champion_index = {label: i for i, label in enumerate(champion.labels)}
        champion_y = np.array([champion_index[v] for v in y_true])
    # how sure: paired bootstrap intervals; against what: the majority-class baseline
    intervals = bootstrap(y, proba, champion_y=champion_y, champion_proba=champion_proba)
    baseline_metrics = compute_metrics(y_true, baseline_proba(y, len(predictor.labels)), predictor.labels)

    # 2. metric gates, then behavioural cases and their pass-rate gates
    evaluation = config.evaluation
    gates = check_gates(evaluation.gates, metrics, champion_metrics)
    behavioural = run_behavioural(evaluation.behavioural.cases, predictor, test_df, dataset)
    for kind, (n_passed, total) in pass_counts(behavioural).items():
        rates: dict[str, float] = {str(k): v for k, v in evaluation.behavioural.min_pass_rate.items()}
        min_rate = rates.get(kind, 1.0)
        gates.append(check_pass_rate(kind, n_passed, total, min_rate))
    passed = all(g.passed for g in gates)

    # 3. plots and report
    aligned_champion = None  # the champion's columns in the candidate's label order, for the overlay
    if champion is not None and champion_proba is not None and set(champion.labels) == set(predictor.labels):
        aligned_champion = champion_proba[:, [champion.labels.index(label) for label in predictor.labels]]
    plots = make_plots(
        y,
        proba,
        predictor.labels,
        out_dir / "plots",
        champion_proba=aligned_champion,
        champion_label=champion_label,
    )
    section = None
    if explain:
        from pipelines.explain import explain_evaluation

        section = explain_evaluation(config, dataset, predictor, test_df, out_dir, background=background)
    facts = {"model": config.name, **(about or {"artifact": str(predictor.path)})}
    facts["dataset"] = f"{dataset.name} (test split, {len(test_df)} rows)"
    facts["primary metric"] = f"{evaluation.primary_metric} = {metrics[evaluation.primary_metric]:.4f}"
    facts["champion"] = (champion_label or str(champion.path)) if champion is not None else "none"
    facts["evaluated"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    headline = findings(y, proba, predictor.labels, intervals)
    report_md, report_html = write_reports(
        out_dir,
        Report(
            title=f"Evaluation of {config.name}",
            passed=passed,
            metrics=metrics,
            gates=gates,
            behavioural=behavioural,
            facts=facts,
            findings=headline,
            intervals=intervals.candidate,
            baseline=baseline_metrics,
            champion=champion_metrics,
            champion_label=champion_label,
            change_intervals=intervals.change,
            confidence=intervals.confidence,
            n_resamples=intervals.n_resamples,
            plots=[out_dir / "plots" / p.name for p in plots],
            explanation=section,
        ),
    )
    return EvaluationResult(
        metrics=metrics,
        champion_metrics=champion_metrics,
        gates=gates,
        behavioural=behavioural,
        passed=passed,
        report_md=report_md,
        report_html=report_html,
        plots=plots + (section.plots if section is not None else []),
        primary_metric=evaluation.primary_metric,
        intervals=intervals,
        baseline_metrics=baseline_metrics,
        findings=headline,
        explanations=section.json_path if section is not None else None,
    )
