"""One trial: train model.yaml with the trial's values, prune from the per-epoch validation curve,
score the kept weights on the validation split.

The objective is measured on the validation split only; the test split stays untouched for the gates
of `aip evaluate`, so tuning never selects on the numbers that later decide registration.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.config import AnyModelConfig, DatasetConfig
from pipelines.config.search import Search
from pipelines.tune.errors import TuneError
from pipelines.tune.space import direction, suggest
from pipelines.tune.tracking import TrialRun

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    from mlflow.tracking import MlflowClient

__all__ = ["Objective", "epoch_metric"]

# The trainer reports these per epoch; a metric without its own curve prunes on the closest one that
# moves the same way (the final objective is still the exact metric, on the kept weights).
_PER_EPOCH = {"accuracy": "val_accuracy", "macro_f1": "val_macro_f1", "log_loss": "val_loss"}
VALUES_ATTR = "aip.values"  # trial user attribute: the training values the trial actually used
ERROR_ATTR = "aip.error"  # trial user attribute: why a failed trial failed


def epoch_metric(search: Search) -> str:
    """The per-epoch validation metric that pruning compares between trials."""
    if search.metric in _PER_EPOCH:
        return _PER_EPOCH[search.metric]
    return "val_macro_f1" if direction(search) == "maximize" else "val_loss"


@dataclass
class Objective:
    """Callable for `study.optimize`; holds what every trial of one worker shares."""

    config: AnyModelConfig
    dataset: DatasetConfig
    train_df: pd.DataFrame
    val_df: pd.DataFrame
    client: MlflowClient
    experiment_id: str
    parent_run_id: str
    study_name: str
    say: Callable[[str], None]
    worker: int = 0
    verbose: bool = False

    @property
    def search(self) -> Search:
        assert self.config.search is not None
        return self.config.search

    def __call__(self, trial: optuna.Trial) -> float:
        import optuna

        values = suggest(trial, self.search)
        trial.set_user_attr(VALUES_ATTR, values)
        run = TrialRun(self.client, self.experiment_id, self.parent_run_id, self.study_name, trial.number)
        trial.set_user_attr("aip.mlflow_run_id", run.run_id)
        training = self.config.training.model_copy(update=values)
        config = self.config.model_copy(update={"training": training})
        run.log_params({**training.model_dump(), "worker": self.worker})
        watched = epoch_metric(self.search)
        started = time.perf_counter()
        last_epoch = 0

        def report(metrics: dict[str, float], epoch: int) -> None:
            nonlocal last_epoch
            last_epoch = epoch
            run.log_epoch(metrics, epoch)
            value = metrics.get(watched)
            if value is not None and math.isfinite(value):
                trial.report(value, epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"{watched} {value:.4f} at epoch {epoch}")

        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        try:
            score, metrics = self._train_and_score(config, report)
        except optuna.TrialPruned:
            run.finish("pruned", {"pruned_at_epoch": float(last_epoch)})
            self.say(f"trial {trial.number:3d}{self._who()}: pruned at epoch {last_epoch} ({shown})")
            raise
        except Exception as exc:
            trial.set_user_attr(ERROR_ATTR, f"{type(exc).__name__}: {exc}"[:1000])
            run.finish("failed", {}, error=f"{type(exc).__name__}: {exc}")
            self.say(f"trial {trial.number:3d}{self._who()}: failed: {type(exc).__name__}: {exc}")
            raise
        seconds = time.perf_counter() - started
        run.finish(
            "complete",
            {
                "objective": score,
                "trial_seconds": seconds,
                **{f"final_val_{k}": v for k, v in metrics.items()},
            },
        )
        self.say(
            f"trial {trial.number:3d}{self._who()}: {self.search.metric} {score:.4f} "
            f"in {seconds:.1f} s ({shown})"
        )
        return score

    def _who(self) -> str:
        return f" [worker {self.worker}]" if self.worker else ""

    def _train_and_score(
        self, config: AnyModelConfig, report: Callable[[dict[str, float], int], None]
    ) -> tuple[float, dict[str, float]]:
        from pipelines.artifacts import load
        from pipelines.evaluate.evaluation import predict_split
        from pipelines.evaluate.metrics import compute_metrics
        from pipelines.train import train_model

        quiet = contextlib.nullcontext() if self.verbose else contextlib.redirect_stderr(io.StringIO())
        with tempfile.TemporaryDirectory(prefix="aip-tune-") as folder, quiet:
            result = train_model(
                config, self.dataset, self.train_df, self.val_df, Path(folder) / "model", log_metrics=report
            )
            predictor = load(result.artifact_dir)
            proba = predict_split(predictor, self.val_df, self.dataset)
        y_true = self.val_df[self.dataset.label_column].astype(str).tolist()
        metrics: dict[str, Any] = compute_metrics(y_true, proba, predictor.labels)
        score = float(metrics[self.search.metric])
        if not math.isfinite(score):
            raise TuneError(f"{self.search.metric} is not defined on this validation split (got {score})")
        return score, metrics
