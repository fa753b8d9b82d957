"""Evaluate a model artifact on the held-out test split: metrics, gates, behavioural tests, report.

    from pipelines.artifacts import load
    from pipelines.evaluate import evaluate_model
    result = evaluate_model(model_config, dataset_config, load("out/model"), test_df, Path("out/eval"),
                            champion=load(champion_dir), champion_label="prod v3")
    print(result.summary()); raise SystemExit(0 if result.passed else 1)

A champion, when given, is evaluated on the SAME test split, so the comparison stays fair when the
data changed since the champion was registered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.config import DatasetConfig, TabularClassifierConfig, TextClassifierConfig
from pipelines.evaluate.behavioural import BehaviouralResult, pass_counts, run_behavioural
from pipelines.evaluate.gates import GateResult, check_gates, check_pass_rate

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
            if self.champion_metrics is not None and not math.isnan(
                self.champion_metrics.get(name, math.nan)
            ):
                champion = self.champion_metrics[name]
                line += f"   champion {champion:.4f}  ({value - champion:+.4f})"
            lines.append(line)
        for g in self.gates:
            if g.passed:
                lines.append(f"  pass  {g.gate}: {g.message}")
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
) -> EvaluationResult:
    """Metrics, gates, behavioural tests, plots and report (report.md/.html, plots/*.png in out_dir)."""
    import numpy as np

    from pipelines.evaluate.metrics import compute_metrics
    from pipelines.evaluate.plots import make_plots
    from pipelines.evaluate.report import write_reports

    out_dir.mkdir(parents=True, exist_ok=True)
    y_true = test_df[dataset.label_column].astype(str).tolist()

    # 1. task metrics of the candidate and, on the same rows, of the champion
    proba = predict_split(predictor, test_df, dataset)
    metrics = compute_metrics(y_true, proba, predictor.labels)
    champion_metrics = None
    if champion is not None:
        champion_metrics = compute_metrics(y_true, predict_split(champion, test_df, dataset), champion.labels)

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
    index = {label: i for i, label in enumerate(predictor.labels)}
    plots = make_plots(np.array([index[y] for y in y_true]), proba, predictor.labels, out_dir / "plots")
    facts = {
        "model": config.name,
        "dataset": f"{dataset.name} (test split, {len(test_df)} rows)",
        "artifact": str(predictor.path),
        "primary metric": f"{evaluation.primary_metric} = {metrics[evaluation.primary_metric]:.4f}",
    }
    if champion is not None:
        facts["champion"] = champion_label or str(champion.path)
    report_md, report_html = write_reports(
        out_dir,
        title=f"Evaluation of {config.name}",
        passed=passed,
        metrics=metrics,
        champion=champion_metrics,
        champion_label=champion_label,
        gates=gates,
        behavioural=behavioural,
        plots=[out_dir / "plots" / p.name for p in plots],
        facts=facts,
    )
    return EvaluationResult(
        metrics=metrics,
        champion_metrics=champion_metrics,
        gates=gates,
        behavioural=behavioural,
        passed=passed,
        report_md=report_md,
        report_html=report_html,
        plots=plots,
        primary_metric=evaluation.primary_metric,
    )
