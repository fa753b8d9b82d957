"""Task metrics on a held-out split, from true labels and predicted probabilities.

Every name in `pipelines.config.METRICS` is computed here; `METRICS[name]` says whether higher
is better. A metric that cannot be computed on this split (ROC AUC with one class) is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pipelines.config import METRICS, PROMPT_METRICS

__all__ = ["METRICS", "compute_metrics", "expected_calibration_error", "higher_is_better"]

_ECE_BINS = 15  # the usual choice in the calibration literature (Guo et al. 2017)
_EPS = 1e-15  # probability floor for log loss


def higher_is_better(metric: str) -> bool:
    """Direction of a model metric (config/model.py) or a prompt metric (config/prompt.py)."""
    known = METRICS | PROMPT_METRICS
    if metric not in known:
        raise KeyError(f"unknown metric '{metric}' (known: {', '.join(sorted(known))})")
    return known[metric]


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, bins: int = _ECE_BINS) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def _encode(y_true: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({str(v) for v in y_true} - set(index))
    if unknown:
        raise ValueError(
            f"test labels unknown to the model: {', '.join(unknown)} (model labels: {', '.join(labels)})"
        )
    return np.array([index[str(v)] for v in y_true], dtype=int)


def _roc_auc(y: np.ndarray, proba: np.ndarray) -> float:
    """Binary: positive = labels[1]. Multiclass: one-vs-rest macro over classes present in y."""
    from sklearn.metrics import roc_auc_score

    n_classes = proba.shape[1]
    if n_classes == 2:
        if len(np.unique(y)) < 2:
            return math.nan
        return float(roc_auc_score(y == 1, proba[:, 1]))
    scores = [roc_auc_score(y == c, proba[:, c]) for c in range(n_classes) if 0 < np.sum(y == c) < len(y)]
    return float(np.mean(scores)) if scores else math.nan


def compute_metrics(y_true: Sequence[str], proba: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """Every metric of METRICS; `proba` columns follow `labels` (the artifact's order)."""
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        precision_score,
        recall_score,
    )

    if proba.ndim != 2 or proba.shape != (len(y_true), len(labels)):
        raise ValueError(f"proba has shape {proba.shape}, expected ({len(y_true)}, {len(labels)})")
    if len(y_true) == 0:
        raise ValueError("cannot compute metrics on an empty split")
    y = _encode(y_true, labels)
    pred = proba.argmax(axis=1)
    # balanced accuracy = mean recall over the classes in y (sklearn's definition, without its
    # warning on single-class splits)
    present = sorted(set(y.tolist()) | set(pred.tolist()))
    onehot = np.eye(len(labels))[y]
    clipped = np.clip(proba, _EPS, 1.0)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    if len(labels) == 2:
        brier = float(np.mean((proba[:, 1] - onehot[:, 1]) ** 2))
    else:  # mean over classes of each class's one-vs-rest Brier score
        brier = float(np.mean((proba - onehot) ** 2))
    metrics = {
        "accuracy": float(accuracy_score(y, pred)),
        "balanced_accuracy": float(np.mean([np.mean(pred[y == c] == c) for c in np.unique(y)])),
        "macro_f1": float(f1_score(y, pred, labels=present, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y, pred, labels=present, average="weighted", zero_division=0)),
        "macro_precision": float(precision_score(y, pred, labels=present, average="macro", zero_division=0)),
        "macro_recall": float(recall_score(y, pred, labels=present, average="macro", zero_division=0)),
        "roc_auc": _roc_auc(y, proba),
        "log_loss": float(-np.mean(np.log(clipped[np.arange(len(y)), y]))),
        "brier": brier,
        "ece": expected_calibration_error(y, proba),
    }
    missing = set(METRICS) - set(metrics)
    assert not missing, f"metrics not computed: {missing}"
    return metrics
