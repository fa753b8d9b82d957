"""The one training loop both model kinds share.

AdamW (param groups from the caller), linear warm-up then linear decay to zero, gradient clipping,
per-epoch train loss and validation loss / accuracy / macro-F1, and the weights of the epoch with
the best validation macro-F1 restored at the end. Imports torch: import this module lazily.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from pipelines.train.device import Device

__all__ = ["FitResult", "fit", "macro_f1"]

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
) -> FitResult:
    """Train `model` in place; batches are dicts of tensors with a `labels` entry."""
    from tqdm import tqdm

    steps_per_epoch = len(train_batches) if isinstance(train_batches, Sized) else 0
    total = max(1, steps_per_epoch * epochs)
    optimizer = torch.optim.AdamW(param_groups)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _linear_schedule(total, int(warmup_ratio * total))
    )
    model.to(device.name)
    history: list[dict[str, float]] = []
    best_f1, best_epoch, best_state = -1.0, 0, None
    progress = tqdm(
        total=total,
        desc=desc,
        unit="step",
        file=sys.stderr,
        mininterval=_PROGRESS_MININTERVAL,
        dynamic_ncols=True,
        disable=None,  # a bar on a terminal; in CI logs (not a TTY) the per-epoch lines are the progress
    )
    try:
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            model.train()
            loss_sum, n_seen = 0.0, 0
            for batch in train_batches:
                batch = _to(batch, device)
                labels = batch.pop("labels")
                with torch.autocast(
                    device.type, dtype=device.autocast_dtype, enabled=device.autocast_dtype is not None
                ):
                    logits = model(**batch)
                loss = nn.functional.cross_entropy(logits.float(), labels)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                nn.utils.clip_grad_norm_(model.parameters(), _MAX_GRAD_NORM)
                optimizer.step()
                scheduler.step()
                loss_sum += loss.item() * len(labels)
                n_seen += len(labels)
                progress.update(1)
                progress.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}", refresh=False)
            row = {"epoch": float(epoch), "train_loss": loss_sum / max(1, n_seen)}
            row.update(_evaluate(model, val_batches, device))
            row["lr"] = float(scheduler.get_last_lr()[0])
            row["epoch_seconds"] = time.perf_counter() - started
            history.append(row)
            if _worth_printing(epoch, epochs, row["epoch_seconds"]):
                progress.write(
                    f"epoch {epoch}/{epochs}: train_loss {row['train_loss']:.4f}  "
                    f"val_loss {row['val_loss']:.4f}  "
                    f"val_accuracy {row['val_accuracy']:.4f}  val_macro_f1 {row['val_macro_f1']:.4f}  "
                    f"({row['epoch_seconds']:.1f} s)",
                    file=sys.stderr,
                )
            if log_metrics is not None:
                log_metrics({k: v for k, v in row.items() if k != "epoch"}, epoch)
            if row["val_macro_f1"] > best_f1:
                best_f1, best_epoch = row["val_macro_f1"], epoch
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    finally:
        progress.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return FitResult(history=history, best_epoch=best_epoch)
