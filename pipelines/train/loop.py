"""The one training loop both model kinds share.

AdamW (param groups from the caller), linear warm-up then linear decay to zero, gradient clipping,
per-epoch train loss and validation loss / accuracy / macro-F1, and the weights of the epoch with
the best validation macro-F1 restored at the end. Imports torch: import this module lazily.

Optional, and inert when left at their defaults (one process, no accumulation, no checkpoints: the
same operations in the same order as before they existed): data-parallel training (the model wrapped
in DistributedDataParallel; each rank gets its share of batches from its loader), gradient
accumulation, and periodic checkpoints from which a killed run continues exactly (see
pipelines/train/checkpoint.py). Validation runs on every rank over the whole split with the
synchronised weights, so its metrics are those of a single-process evaluation of the same weights.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pipelines.train.checkpoint import (
    Progress,
    capture_rng,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from pipelines.train.device import Device
from pipelines.train.distributed import Distributed

__all__ = ["Checkpointing", "FitResult", "fit", "macro_f1"]

Batch = dict[str, torch.Tensor]
MetricsLogger = Callable[[dict[str, float], int], None]

_MAX_GRAD_NORM = 1.0  # clip: one bad batch must not wreck a pretrained encoder
_PROGRESS_MININTERVAL = 2.0  # seconds between progress redraws; keeps CI logs short


@dataclass
class FitResult:
    history: list[dict[str, float]]
    """One row per epoch: epoch, train_loss, val_loss, val_accuracy, val_macro_f1, lr, epoch_seconds."""
    best_epoch: int
    """1-based epoch whose weights the model holds after `fit`."""


@dataclass
class Checkpointing:
    """Periodic checkpoints of a `fit`, and the one to continue from."""

    folder: Path
    """Local folder of `step-N/` checkpoints (rank 0 writes; the newest is kept)."""
    every_steps: int
    """Optimiser steps between checkpoints; 0: none."""
    on_saved: Callable[[Path], None] | None = None
    """Called by rank 0 with each new checkpoint folder (the MLflow upload)."""
    resume_from: Path | None = None
    """A checkpoint folder to continue from."""


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted mean F1 over the classes present in y_true or y_pred."""
    scores = []
    for c in np.union1d(y_true, y_pred):
        tp = float(np.sum((y_pred == c) & (y_true == c)))
        fp = float(np.sum((y_pred == c) & (y_true != c)))
        fn = float(np.sum((y_pred != c) & (y_true == c)))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0


def _linear_schedule(total: int, warmup: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def _worth_printing(epoch: int, epochs: int, seconds: float) -> bool:
    """Every slow epoch; for many fast ones (the MLP), about ten lines in all."""
    return seconds >= 1.0 or epoch == epochs or epoch % max(1, epochs // 10) == 0


def _to(batch: Batch, device: Device) -> Batch:
    return {k: v.to(device.name, non_blocking=True) for k, v in batch.items()}


def _begin_epoch(batches: Iterable[Batch], epoch: int) -> None:
    """Put a loader's sampler on `epoch` (0-based for torch): the data order is a function of
    (seed, epoch), so a resumed run sees the batches an uninterrupted one would."""
    sampler = getattr(batches, "sampler", None)
    if sampler is not None and hasattr(sampler, "set_epoch"):  # DistributedSampler
        sampler.set_epoch(epoch - 1)
    batch_sampler = getattr(batches, "batch_sampler", None)
    if batch_sampler is not None and hasattr(batch_sampler, "epoch"):  # the text batches' own sampler
        batch_sampler.epoch = epoch - 1


def _generator(batches: Iterable[Batch]) -> torch.Generator | None:
    """The generator a shuffling DataLoader draws its order from (the tabular batches), if any."""
    generator = getattr(batches, "generator", None)
    return generator if isinstance(generator, torch.Generator) else None


def _evaluate(model: nn.Module, batches: Iterable[Batch], device: Device) -> dict[str, float]:
    model.eval()
    losses, preds, golds = [], [], []
    with (
        torch.no_grad(),
        torch.autocast(device.type, dtype=device.autocast_dtype, enabled=device.autocast_dtype is not None),
    ):
        for batch in batches:
            batch = _to(batch, device)
            labels = batch.pop("labels")
            logits = model(**batch).float()
            losses.append(nn.functional.cross_entropy(logits, labels, reduction="sum").item())
            preds.append(logits.argmax(-1).cpu().numpy())
            golds.append(labels.cpu().numpy())
    y_pred, y_true = np.concatenate(preds), np.concatenate(golds)
    return {
        "val_loss": sum(losses) / len(y_true),
        "val_accuracy": float(np.mean(y_pred == y_true)),
        "val_macro_f1": macro_f1(y_true, y_pred),
    }


def fit(
    model: nn.Module,
    train_batches: Iterable[Batch],
    val_batches: Iterable[Batch],
    *,
    param_groups: list[dict[str, Any]],
    epochs: int,
    warmup_ratio: float,
    device: Device,
    log_metrics: MetricsLogger | None = None,
    desc: str = "train",
    distributed: Distributed | None = None,
    accumulation: int = 1,
    checkpoints: Checkpointing | None = None,
    find_unused_parameters: bool = False,
) -> FitResult:
    """Train `model` in place; batches are dicts of tensors with a `labels` entry.

    `distributed`: this rank of a torchrun job (train_batches is already its share);
    `accumulation`: micro-batches per optimiser step; `checkpoints`: see Checkpointing."""
    from tqdm import tqdm

    micro_per_epoch = len(train_batches) if isinstance(train_batches, Sized) else 0
    steps_per_epoch = math.ceil(micro_per_epoch / accumulation)
    total = max(1, steps_per_epoch * epochs)
    optimizer = torch.optim.AdamW(param_groups)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _linear_schedule(total, int(warmup_ratio * total))
    )
    model.to(device.name)
    net: nn.Module = model
    if distributed is not None:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(
            model,
            device_ids=[distributed.local_rank] if device.type == "cuda" else None,
            find_unused_parameters=find_unused_parameters,
        )
    is_main = distributed is None or distributed.is_main
    world = 1 if distributed is None else distributed.world_size
    history: list[dict[str, float]] = []
    best_f1, best_epoch, best_state = -1.0, 0, None
    start_epoch, skip, global_step, loss_sum, n_seen = 1, 0, 0, 0.0, 0
    resume_rng: dict[str, Any] | None = None
    resume_generator: torch.Tensor | None = None
    if checkpoints is not None and checkpoints.resume_from is not None:
        loaded = load_checkpoint(checkpoints.resume_from, world_size=world, accumulation=accumulation)
        model.load_state_dict(loaded.model_state)
        optimizer.load_state_dict(loaded.optimizer_state)
        scheduler.load_state_dict(loaded.scheduler_state)
        done = loaded.progress
        history, best_f1, best_epoch = list(done.history), done.best_f1, done.best_epoch
        best_state = loaded.best_state
        start_epoch, skip, global_step = done.epoch, done.batches_done, done.global_step
        loss_sum, n_seen = done.loss_sum, done.n_seen
        resume_rng = loaded.rng[0 if distributed is None else distributed.rank]
        resume_generator = loaded.epoch_generator
        if is_main:
            print(
                f"{desc}: resuming from {checkpoints.resume_from} (epoch {done.epoch}, "
                f"step {done.global_step}/{total})",
                file=sys.stderr,
            )
    progress = tqdm(
        total=total,
        initial=global_step,
        desc=desc,
        unit="step",
        file=sys.stderr,
        mininterval=_PROGRESS_MININTERVAL,
        dynamic_ncols=True,
        disable=None
        if is_main
        else True,  # a bar on a terminal; in CI logs (not a TTY) the per-epoch lines are the progress
    )
    try:
        for epoch in range(start_epoch, epochs + 1):
            started = time.perf_counter()
            _begin_epoch(train_batches, epoch)
            generator = _generator(train_batches)
            if generator is not None and resume_generator is not None:
                generator.set_state(resume_generator)
            epoch_generator = generator.get_state() if generator is not None else None
            resume_generator = None
            net.train()
            if epoch != start_epoch:
                loss_sum, n_seen, skip = 0.0, 0, 0
            batches: Iterator[Batch] = iter(train_batches)
            for _ in range(skip):  # a resumed epoch: the batches the checkpoint had already trained on
                next(batches)
            if resume_rng is not None:
                restore_rng(resume_rng)  # after the skipped batches: dropout continues where it stopped
                resume_rng = None
            for micro, batch in enumerate(batches, start=skip + 1):
                batch = _to(batch, device)
                labels = batch.pop("labels")
                last_of_step = micro % accumulation == 0 or micro == micro_per_epoch
                sync = (
                    net.no_sync()  # type: ignore[operator]
                    if distributed is not None and not last_of_step
                    else contextlib.nullcontext()
                )
                with sync:
                    with torch.autocast(
                        device.type, dtype=device.autocast_dtype, enabled=device.autocast_dtype is not None
                    ):
                        logits = net(**batch)
                    loss = nn.functional.cross_entropy(logits.float(), labels)
                    if accumulation == 1:
                        optimizer.zero_grad(set_to_none=True)
                        loss.backward()  # type: ignore[no-untyped-call]
                    else:
                        (loss / accumulation).backward()  # type: ignore[no-untyped-call]
                loss_sum += loss.item() * len(labels)
                n_seen += len(labels)
                progress.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}", refresh=False)
                if not last_of_step:
                    continue
                nn.utils.clip_grad_norm_(model.parameters(), _MAX_GRAD_NORM)
                optimizer.step()
                scheduler.step()
                if accumulation != 1:
                    optimizer.zero_grad(set_to_none=True)
                global_step += 1
                progress.update(1)
                if (
                    checkpoints is not None
                    and checkpoints.every_steps
                    and global_step % checkpoints.every_steps == 0
                ):
                    state = Progress(
                        epoch,
                        micro,
                        global_step,
                        world,
                        accumulation,
                        loss_sum,
                        n_seen,
                        history,
                        best_f1,
                        best_epoch,
                    )
                    _checkpoint(
                        checkpoints,
                        state,
                        model,
                        best_state,
                        optimizer,
                        scheduler,
                        epoch_generator,
                        distributed,
                    )
            if distributed is not None:  # every rank's train loss, weighted by its rows
                totals = torch.tensor([loss_sum, float(n_seen)], dtype=torch.float64)
                torch.distributed.all_reduce(totals)
                row = {"epoch": float(epoch), "train_loss": float(totals[0] / max(1.0, float(totals[1])))}
            else:
                row = {"epoch": float(epoch), "train_loss": loss_sum / max(1, n_seen)}
            row.update(_evaluate(model, val_batches, device))
            row["lr"] = float(scheduler.get_last_lr()[0])
            row["epoch_seconds"] = time.perf_counter() - started
            history.append(row)
            if is_main and _worth_printing(epoch, epochs, row["epoch_seconds"]):
                progress.write(
                    f"epoch {epoch}/{epochs}: train_loss {row['train_loss']:.4f}  "
                    f"val_loss {row['val_loss']:.4f}  "
                    f"val_accuracy {row['val_accuracy']:.4f}  val_macro_f1 {row['val_macro_f1']:.4f}  "
                    f"({row['epoch_seconds']:.1f} s)",
                    file=sys.stderr,
                )
            if log_metrics is not None and is_main:
                log_metrics({k: v for k, v in row.items() if k != "epoch"}, epoch)
            if row["val_macro_f1"] > best_f1:
                best_f1, best_epoch = row["val_macro_f1"], epoch
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    finally:
        progress.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return FitResult(history=history, best_epoch=best_epoch)


def _checkpoint(
    checkpoints: Checkpointing,
    state: Progress,
    model: nn.Module,
    best_state: dict[str, torch.Tensor] | None,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    epoch_generator: torch.Tensor | None,
    distributed: Distributed | None,
) -> None:
    """Rank 0 writes the checkpoint (with every rank's RNG state) and hands it to `on_saved`."""
    rng = [capture_rng()] if distributed is None else distributed.gather(capture_rng())
    if distributed is not None and not distributed.is_main:
        return
    folder = save_checkpoint(
        checkpoints.folder,
        state,
        model_state=model.state_dict(),
        best_state=best_state,
        optimizer_state=optimizer.state_dict(),
        scheduler_state=scheduler.state_dict(),
        rng=rng,
        epoch_generator=epoch_generator,
    )
    if checkpoints.on_saved is not None:
        checkpoints.on_saved(folder)
