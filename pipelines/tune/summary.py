"""What a study found: the best training values as a diff against model.yaml, the counts of trials,
and the same summary, plots and trial table written into the study's MLflow parent run."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pipelines.config import AnyModelConfig
from pipelines.tune.objective import ERROR_ATTR, VALUES_ATTR
from pipelines.tune.space import direction
from pipelines.tune.storage import mask

if TYPE_CHECKING:
    import optuna
    from mlflow.tracking import MlflowClient

__all__ = ["Change", "Summary", "summarise"]


@dataclass
class Change:
    name: str
    current: Any
    best: Any

    @property
    def changed(self) -> bool:
        return bool(self.current != self.best)

    def line(self) -> str:
        if not self.changed:
            return f"  {self.name}: {_show(self.current)} (unchanged)"
        return f"  {self.name}: {_show(self.current)} -> {_show(self.best)}"


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, list) else str(value)


@dataclass
class Summary:
    model: str
    study: str
    storage: str
    """Masked: never the password."""
    metric: str
    direction: str
    parent_run_id: str
    n_trials: int
    n_complete: int
    n_pruned: int
    n_failed: int
    seconds: float
    best_value: float | None = None
    best_trial: int | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    """The training values of the best trial (what --write puts into model.yaml)."""
    changes: list[Change] = field(default_factory=list)
    first_error: str | None = None

    @property
    def diff(self) -> dict[str, dict[str, Any]]:
        return {c.name: {"from": c.current, "to": c.best} for c in self.changes if c.changed}

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body.pop("changes")
        body["diff"] = self.diff
        return body

    def lines(self) -> list[str]:
        out = [
            f"{self.model}: study '{self.study}': {self.n_trials} trial(s) ({self.n_complete} complete, "
            f"{self.n_pruned} pruned, {self.n_failed} failed) in {self.seconds:.0f} s",
        ]
        if self.best_value is None:
            out.append(
                "no completed trial: nothing to compare"
                + (f" (first error: {self.first_error})" if self.first_error else "")
            )
            return out
        out.append(
            f"best: trial {self.best_trial}, validation {self.metric} {self.best_value:.4f} "
            f"({self.direction})"
        )
        out.append(f"training values against models/{self.model}/model.yaml:")
        out += [c.line() for c in self.changes]
        out.append(f"MLflow: parent run {self.parent_run_id} (experiment aip/{self.model}-tuning)")
        return out


def _counts(study: optuna.Study) -> tuple[int, int, int, int]:
    from optuna.trial import TrialState

    # a WAITING trial (the enqueued baseline of a study nobody has run yet) has not started: not counted
    trials = [t for t in study.get_trials(deepcopy=False) if t.state != TrialState.WAITING]
    count = {
        s: sum(t.state == s for t in trials)
        for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    }
    return len(trials), count[TrialState.COMPLETE], count[TrialState.PRUNED], count[TrialState.FAIL]


def summarise(
    study: optuna.Study,
    config: AnyModelConfig,
    client: MlflowClient,
    parent_run_id: str,
    url: str,
    seconds: float,
    say: Callable[[str], None],
) -> Summary:
    """Read the study's result from the storage (every worker's trials) and log it to the parent."""
    from optuna.trial import TrialState

    assert config.search is not None
    total, complete, pruned, failed = _counts(study)
    summary = Summary(
        model=config.name,
        study=study.study_name,
        storage=mask(url),
        metric=config.search.metric,
        direction=direction(config.search),
        parent_run_id=parent_run_id,
        n_trials=total,
        n_complete=complete,
        n_pruned=pruned,
        n_failed=failed,
        seconds=seconds,
    )
    errors = [t for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))]
    if errors:
        summary.first_error = str(errors[0].user_attrs.get(ERROR_ATTR, "")) or None
    if complete:
        best = study.best_trial
        values = dict(best.user_attrs.get(VALUES_ATTR, {}))
        current = config.training.model_dump(mode="json")
        summary.best_value = float(best.value) if best.value is not None else None
        summary.best_trial = best.number
        summary.best_params = values
        summary.changes = [
            Change(name, current.get(name), values[name]) for name in config.search.space if name in values
        ]
    _log_parent(study, client, parent_run_id, summary, say)
    return summary


def _log_parent(
    study: optuna.Study, client: MlflowClient, run_id: str, summary: Summary, say: Callable[[str], None]
) -> None:
    from mlflow.entities import Metric

    step = summary.n_trials
    metrics: dict[str, float] = {
        "n_trials": summary.n_trials,
        "n_complete": summary.n_complete,
        "n_pruned": summary.n_pruned,
        "n_failed": summary.n_failed,
    }
    if summary.best_value is not None:
        metrics["best_value"] = summary.best_value
        metrics[f"best_val_{summary.metric}"] = summary.best_value
    client.log_batch(run_id, metrics=[Metric(k, float(v), 0, step) for k, v in metrics.items()])
    for name, value in summary.best_params.items():
        client.set_tag(run_id, f"aip.tune.best.{name}", _show(value))
    if summary.best_trial is not None:
        client.set_tag(run_id, "aip.tune.best_trial", str(summary.best_trial))
    client.log_dict(run_id, summary.to_json(), "best.json")
    client.log_text(run_id, study.trials_dataframe().to_csv(index=False), "trials.csv")
    for name, figure in _plots(study, summary.n_complete, say).items():
        client.log_figure(run_id, figure, f"plots/{name}.png")
        import matplotlib.pyplot as plt

        plt.close(figure)
    client.set_terminated(run_id, "FINISHED")


def _plots(study: optuna.Study, complete: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Optimisation history, and parameter importances once two trials completed (fANOVA needs them)."""
    if complete < 1:
        return {}
    import matplotlib

    matplotlib.use("Agg", force=True)
    from optuna.exceptions import ExperimentalWarning
    from optuna.visualization import matplotlib as plots

    figures: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # the matplotlib backend is marked experimental
        figures["optimization_history"] = plots.plot_optimization_history(study).figure
        if complete >= 2:
            try:
                figures["param_importances"] = plots.plot_param_importances(study).figure
            except (ValueError, RuntimeError, ZeroDivisionError) as exc:  # e.g. every trial scored the same
                say(f"note: no parameter-importance plot ({type(exc).__name__}: {exc})")
        else:
            say("note: parameter importances need two completed trials; plot skipped")
    return figures
