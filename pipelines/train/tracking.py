"""What training writes to the caller's MLflow run by its id: epoch metrics and checkpoints.

A client call per write (no active run needed), so a torchrun worker in another process writes to the
run its parent opened, exactly as the single-process path does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pipelines.train.checkpoint import CHECKPOINT_TAG, ArtifactSlots

__all__ = ["checkpoint_uploader", "metrics_logger"]


def metrics_logger(run_id: str) -> Callable[[dict[str, float], int], None]:
    """Log one epoch's metrics (step = epoch) to `run_id`."""
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient()

    def log(metrics: dict[str, float], epoch: int) -> None:
        now = int(time.time() * 1000)
        client.log_batch(run_id, metrics=[Metric(k, float(v), now, epoch) for k, v in metrics.items()])

    return log


def checkpoint_uploader(run_id: str, current: str | None) -> Callable[[Path], None]:
    """Upload each checkpoint folder to the run's next ArtifactSlots slot, then point CHECKPOINT_TAG
    at it; `current` is the slot the run's tag names now (None for a new run)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    slots = ArtifactSlots(current=current)

    def upload(folder: Path) -> None:
        path = slots.next()
        client.log_artifacts(run_id, str(folder), path)
        client.set_tag(run_id, CHECKPOINT_TAG, path)

    return upload
