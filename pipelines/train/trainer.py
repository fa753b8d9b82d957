"""Train one model from its config and data frames, and write the artifact.

    # from Python (the CLI's `aip train <model>` calls this with the DVC-prepared splits)
    from pipelines.train import train_model
    result = train_model(model_config, dataset_config, train_df, val_df, Path("out/model"))

CPU here; one GPU is picked up automatically (bf16 autocast where supported); `device="cpu"`
forces the CPU. Training runs in a single process on one device: multi-GPU data parallelism
(torchrun/DDP) is a planned capability that this trainer does not implement.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.config import DatasetConfig, TabularClassifierConfig, TextClassifierConfig
from pipelines.train.device import pick_device
from pipelines.train.sampling import subsample
from pipelines.train.seed import seed_everything

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from pipelines.train.device import Device
    from pipelines.train.loop import FitResult

MetricsLogger = Callable[[dict[str, float], int], None]

__all__ = ["TrainResult", "train_model"]

_TABULAR_WARMUP_RATIO = 0.0  # a freshly initialised MLP needs no warm-up; decay still applies
_EVAL_BATCH_SIZE = 128  # validation batches: no gradients, so larger is fine


@dataclass
class TrainResult:
    artifact_dir: Path
    """The artifact folder (see pipelines.artifacts)."""
    history: list[dict[str, float]]
    """Per epoch: epoch, train_loss, val_loss, val_accuracy, val_macro_f1, lr, epoch_seconds."""
    best_epoch: int
    """1-based epoch whose weights were saved (best validation macro-F1)."""
    device: str
    """Where it trained: `cpu`, `cuda`, ..."""
    params: dict[str, Any]
    """Flat hyper-parameters and derived facts, for MLflow log_params."""
    seconds: float
    """Wall time of the whole call."""
    peak_rss_mb: float
    """Peak resident memory of this process so far (MiB)."""


@dataclass
class _Job:
    """What both model kinds need: the (capped) frames, encoded labels and where things go."""

    dataset: DatasetConfig
    train_df: pd.DataFrame
    val_df: pd.DataFrame
    y_train: np.ndarray
    y_val: np.ndarray
    labels: list[str]
    out_dir: Path
    device: Device
    log_metrics: MetricsLogger | None
    params: dict[str, Any]
    metadata: dict[str, Any]


def _peak_rss_mb() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


def _labels(train_df: pd.DataFrame, val_df: pd.DataFrame, column: str) -> list[str]:
    for name, df in (("train", train_df), ("validation", val_df)):
        if column not in df.columns:
            raise ValueError(
                f"{name} frame has no label column '{column}' (columns: {', '.join(map(str, df.columns))})"
            )
        if len(df) == 0:
            raise ValueError(f"{name} frame is empty")
    labels = sorted(set(train_df[column].astype(str)) | set(val_df[column].astype(str)))
    if len(labels) < 2:
        raise ValueError(f"need at least two classes in '{column}', found {labels}")
    return labels


def _feature_columns(dataset: DatasetConfig, df: pd.DataFrame) -> list[str]:
    if dataset.feature_columns is not None:
        missing = [c for c in dataset.feature_columns if c not in df.columns]
        if missing:
            raise ValueError(f"training frame lacks feature column(s): {', '.join(missing)}")
        return list(dataset.feature_columns)
    return [str(c) for c in df.columns if c != dataset.label_column]


def train_model(
    config: TextClassifierConfig | TabularClassifierConfig,
    dataset: DatasetConfig,
    train_df: pd.DataFrame,
    val_df: pd.DataFrame,
    out_dir: Path,
    *,
    log_metrics: Callable[[dict[str, float], int], None] | None = None,
    device: str | None = None,
) -> TrainResult:
    """Seed, build, fit (keeping the best validation epoch), save to `out_dir`; see TrainResult."""
    started = time.perf_counter()
    training = config.training
    seed_everything(training.seed)
    chosen = pick_device(device)
    train_df = subsample(train_df, dataset.label_column, training.max_train_samples, training.seed)
    labels = _labels(train_df, val_df, dataset.label_column)
    index = {label: i for i, label in enumerate(labels)}
    y_train = train_df[dataset.label_column].astype(str).map(index).to_numpy()
    y_val = val_df[dataset.label_column].astype(str).map(index).to_numpy()

    params: dict[str, Any] = {"task": config.task, **training.model_dump()}
    params.update(
        n_train=len(train_df),
        n_val=len(val_df),
        n_classes=len(labels),
        device=chosen.name,
        dtype=chosen.dtype,
    )
    metadata = {"model": config.name, "dataset": dataset.name}

    job = _Job(
        dataset, train_df, val_df, y_train, y_val, labels, out_dir, chosen, log_metrics, params, metadata
    )
    if isinstance(config, TextClassifierConfig):
        artifact_dir, fitted = _train_text(config, job)
    else:
        artifact_dir, fitted = _train_tabular(config, job)

    params["best_epoch"] = fitted.best_epoch
    return TrainResult(
        artifact_dir=artifact_dir,
        history=fitted.history,
        best_epoch=fitted.best_epoch,
        device=chosen.name,
        params=params,
        seconds=time.perf_counter() - started,
        peak_rss_mb=_peak_rss_mb(),
    )


def _train_text(config: TextClassifierConfig, job: _Job) -> tuple[Path, FitResult]:
    dataset, train_df, val_df, labels, params = job.dataset, job.train_df, job.val_df, job.labels, job.params
    from pipelines.artifacts import save_text
    from pipelines.train.loop import fit
    from pipelines.train.text import build_text_model, text_batches, text_param_groups

    t = config.training
    column = dataset.text_column or "text"
    model, tokenizer = build_text_model(config, len(labels))
    params.update(
        base_model=config.base_model.package, n_parameters=sum(p.numel() for p in model.parameters())
    )
    train_batches = text_batches(
        tokenizer,
        train_df[column].astype(str).tolist(),
        job.y_train.tolist(),
        batch_size=t.batch_size,
        max_length=t.max_length,
        shuffle=True,
        seed=t.seed,
    )
    val_batches = text_batches(
        tokenizer,
        val_df[column].astype(str).tolist(),
        job.y_val.tolist(),
        batch_size=_EVAL_BATCH_SIZE,
        max_length=t.max_length,
        shuffle=False,
        seed=t.seed,
    )
    fitted = fit(
        model,
        train_batches,
        val_batches,
        param_groups=text_param_groups(model, config),
        epochs=t.epochs,
        warmup_ratio=t.warmup_ratio,
        device=job.device,
        log_metrics=job.log_metrics,
        desc=config.name,
    )
    model.to("cpu")
    folder = save_text(
        job.out_dir,
        model,
        tokenizer,
        labels,
        max_length=t.max_length,
        dropout=t.dropout,
        task=config.task,
        metadata={**job.metadata, "best_epoch": fitted.best_epoch},
    )
    return folder, fitted


def _train_tabular(config: TabularClassifierConfig, job: _Job) -> tuple[Path, FitResult]:
    dataset, train_df, val_df, labels, params = job.dataset, job.train_df, job.val_df, job.labels, job.params
    import numpy as np

    from pipelines.artifacts import save_tabular
    from pipelines.train.loop import fit
    from pipelines.train.tabular import build_tabular_model, tabular_batches, tabular_param_groups

    t = config.training
    features = _feature_columns(dataset, train_df)
    missing_val = [c for c in features if c not in val_df.columns]
    if missing_val:
        raise ValueError(f"validation frame lacks feature column(s): {', '.join(missing_val)}")
    x_train = train_df[features].to_numpy(dtype=np.float32)
    x_val = val_df[features].to_numpy(dtype=np.float32)
    model = build_tabular_model(config, x_train, len(labels))
    params.update(n_features=len(features), n_parameters=sum(p.numel() for p in model.parameters()))
    fitted = fit(
        model,
        tabular_batches(x_train, job.y_train, batch_size=t.batch_size, shuffle=True, seed=t.seed),
        tabular_batches(x_val, job.y_val, batch_size=_EVAL_BATCH_SIZE, shuffle=False, seed=t.seed),
        param_groups=tabular_param_groups(model, config),
        epochs=t.epochs,
        warmup_ratio=_TABULAR_WARMUP_RATIO,
        device=job.device,
        log_metrics=job.log_metrics,
        desc=config.name,
    )
    model.to("cpu")
    folder = save_tabular(
        job.out_dir,
        model,
        labels,
        feature_names=features,
        hidden_sizes=t.hidden_sizes,
        dropout=t.dropout,
        task=config.task,
        metadata={**job.metadata, "best_epoch": fitted.best_epoch},
    )
    return folder, fitted
