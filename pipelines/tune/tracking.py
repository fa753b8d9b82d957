"""MLflow records of a study: one parent run per study, one nested child run per trial.

The client API (not `mlflow.start_run`) is used throughout: workers in other processes and on other
machines write children of one parent, so no process-global "active run" may be assumed. Per-epoch
metrics are buffered and sent in batches, so a fast trial does not pay one database write an epoch.
"""

from __future__ import annotations

import math
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from pipelines.registry.tracking import param_text

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

__all__ = [
    "PARENT_ATTR",
    "STATE_TAG",
    "TrialRun",
    "create_parent",
    "experiment_name",
]

PARENT_ATTR = "aip.mlflow_parent_run_id"  # study user attribute: the parent run every worker nests under
STATE_TAG = "aip.tune.state"  # complete | pruned | failed, on each trial's run
STUDY_TAG = "aip.tune.study"
PROCESS_TAG = "aip.tune.process"  # host:pid of the worker that ran a trial
_FLUSH_EVERY_S = 10.0  # per-epoch metrics reach MLflow at least this often (long GPU trials stay live)
_MAX_BATCH = 1000  # MLflow's limit of metrics per log_batch call


def experiment_name(model: str) -> str:
    """The experiment name suffix: `aip/<model>-tuning`, apart from the training runs of `aip/<model>`."""
    return f"{model}-tuning"


def create_parent(
    client: MlflowClient, experiment_id: str, study: str, params: dict[str, Any], tags: dict[str, str]
) -> str:
    """A new parent run for `study` (status RUNNING until a summary ends it); returns its id."""
    from mlflow.entities import Param

    run = client.create_run(experiment_id, run_name=f"tune-{study}", tags={STUDY_TAG: study, **tags})
    client.log_batch(run.info.run_id, params=[Param(k, param_text(v)) for k, v in params.items()])
    return str(run.info.run_id)


class TrialRun:
    """The child run of one trial: its values as params, per-epoch curves, objective, state."""

    def __init__(
        self, client: MlflowClient, experiment_id: str, parent_id: str, study: str, number: int
    ) -> None:
        self.client = client
        run = client.create_run(
            experiment_id,
            run_name=f"trial-{number:03d}",
            tags={
                "mlflow.parentRunId": parent_id,
                STUDY_TAG: study,
                "aip.tune.trial": str(number),
                PROCESS_TAG: f"{socket.gethostname()}:{os.getpid()}",  # which worker ran it
            },
        )
        self.run_id: str = run.info.run_id
        self._pending: list[Any] = []
        self._flushed_at = time.monotonic()

    def log_params(self, values: dict[str, Any]) -> None:
        from mlflow.entities import Param

        self.client.log_batch(self.run_id, params=[Param(k, param_text(v)) for k, v in values.items()])

    def log_epoch(self, metrics: dict[str, float], epoch: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._pending += [Metric(k, float(v), now, epoch) for k, v in metrics.items() if math.isfinite(v)]
        if time.monotonic() - self._flushed_at >= _FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:_MAX_BATCH], self._pending[_MAX_BATCH:]
            self.client.log_batch(self.run_id, metrics=batch)
        self._flushed_at = time.monotonic()

    def finish(self, state: str, metrics: dict[str, float], error: str | None = None) -> None:
        """Flush, log final metrics, tag the state (complete, pruned, failed) and end the run."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._pending += [Metric(k, float(v), now, 0) for k, v in metrics.items() if math.isfinite(v)]
        self.flush()
        self.client.set_tag(self.run_id, STATE_TAG, state)
        if error:
            self.client.set_tag(self.run_id, "aip.tune.error", error[:5000])
        self.client.set_terminated(self.run_id, "FAILED" if state == "failed" else "FINISHED")
