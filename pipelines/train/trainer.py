"""Train one model from its config and data frames, and write the artifact.

    # from Python (the CLI's `aip train <model>` calls this with the DVC-prepared splits)
    from pipelines.train import train_model
    result = train_model(model_config, dataset_config, train_df, val_df, Path("out/model"))

CPU here; one GPU is picked up automatically (bf16 autocast where supported); `device="cpu"`
forces the CPU. One process by default. Data-parallel training (DDP over Gloo on CPU, NCCL on CUDA)
runs this same function in every process torchrun starts (pipelines/train/launch.py,
pipelines/train/worker.py) with `parallel=Parallel(distributed=...)`: each rank trains on its share
of the batches, rank 0 alone writes the artifact; gradient accumulation, the learning-rate scaling
rule and periodic checkpoints (resume after a kill) are in `Parallel` too. Left at its defaults,
`Parallel()` changes nothing in the single-process math.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipelines.config import DatasetConfig, TabularClassifierConfig, TextClassifierConfig
from pipelines.train.device import pick_device
from pipelines.train.distributed import Distributed, lr_factor
from pipelines.train.sampling import subsample
from pipelines.train.seed import seed_everything

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from pipelines.train.device import Device
    from pipelines.train.loop import Checkpointing, FitResult

MetricsLogger = Callable[[dict[str, float], int], None]

__all__ = ["Parallel", "TrainResult", "train_model"]

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
class Parallel:
    """How many processes train, how their batches add up, and the checkpoints of the run."""

    distributed: Distributed | None = None
    """This process's rank in a torchrun job; None: one process."""
    accumulation: int = 1
    """Micro-batches per optimiser step."""
    lr_scaling: Literal["none", "linear", "sqrt"] = "none"
    """How learning rates follow the global batch (pipelines/train/distributed.py lr_factor)."""
    checkpoints: Checkpointing | None = None

    @property
    def world_size(self) -> int:
        return 1 if self.distributed is None else self.distributed.world_size

    @property
    def is_main(self) -> bool:
        return self.distributed is None or self.distributed.is_main


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
    parallel: Parallel = field(default_factory=Parallel)


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
    parallel: Parallel | None = None,
) -> TrainResult:
    """Seed, build, fit (keeping the best validation epoch), save to `out_dir`; see TrainResult.

    In a torchrun job every rank calls this; only rank 0 writes `out_dir` (other ranks return the
    same TrainResult without an artifact folder on disk)."""
    parallel = parallel or Parallel()
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
        world_size=parallel.world_size,
        gradient_accumulation_steps=parallel.accumulation,
        global_batch_size=training.batch_size * parallel.world_size * parallel.accumulation,
        lr_scaling=parallel.lr_scaling,
        lr_scale=lr_factor(parallel.lr_scaling, parallel.world_size, parallel.accumulation),
    )
    if parallel.distributed is not None:
        params["distributed_backend"] = parallel.distributed.backend
    metadata = {"model": config.name, "dataset": dataset.name}

    job = _Job(
        dataset,
        train_df,
        val_df,
        y_train,
        y_val,
        labels,
        out_dir,
        chosen,
        log_metrics,
        params,
        metadata,
        parallel,
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
        shard=job.parallel.distributed,
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
        param_groups=_scaled(text_param_groups(model, config), job.parallel),
        epochs=t.epochs,
        warmup_ratio=t.warmup_ratio,
        device=job.device,
        log_metrics=job.log_metrics,
        desc=config.name,
        **_fit_options(job.parallel),
        find_unused_parameters=True,  # the encoder's pooler is not used by mean pooling
    )
    model.to("cpu")
    if not job.parallel.is_main:
        return job.out_dir, fitted
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
        tabular_batches(
            x_train,
            job.y_train,
            batch_size=t.batch_size,
            shuffle=True,
            seed=t.seed,
            shard=job.parallel.distributed,
        ),
        tabular_batches(x_val, job.y_val, batch_size=_EVAL_BATCH_SIZE, shuffle=False, seed=t.seed),
        param_groups=_scaled(tabular_param_groups(model, config), job.parallel),
        epochs=t.epochs,
        warmup_ratio=_TABULAR_WARMUP_RATIO,
        device=job.device,
        log_metrics=job.log_metrics,
        desc=config.name,
        **_fit_options(job.parallel),
    )
    model.to("cpu")
    if not job.parallel.is_main:
        return job.out_dir, fitted
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


def _scaled(groups: list[dict[str, Any]], parallel: Parallel) -> list[dict[str, Any]]:
    """Param groups with learning rates times the scaling rule's factor (untouched at factor 1)."""
    factor = lr_factor(parallel.lr_scaling, parallel.world_size, parallel.accumulation)
    if factor == 1.0:
        return groups
    return [{**group, "lr": group["lr"] * factor} for group in groups]


def _fit_options(parallel: Parallel) -> dict[str, Any]:
    return {
        "distributed": parallel.distributed,
        "accumulation": parallel.accumulation,
        "checkpoints": parallel.checkpoints,
    }
