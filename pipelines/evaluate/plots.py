"""Evaluation plots as PNG files (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["calibration_plot", "confusion_matrix_plot", "make_plots", "per_class_plot", "roc_plot"]

_DPI = 110  # sharp enough in a PR comment or HTML report, small files


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    _pyplot().close(fig)
    return path


def confusion_matrix_plot(y: np.ndarray, pred: np.ndarray, labels: Sequence[str], path: Path) -> Path:
    """Counts, coloured by the share of each true class (rows sum to 1)."""
    plt = _pyplot()
    k = len(labels)
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (y, pred), 1)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.45 * k + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    ax.set_xticks(range(k), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(k), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                ax.text(
                    j,
                    i,
                    str(counts[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if shares[i, j] > 0.5 else "black",
                )
    ax.set_title("Confusion matrix (test split)")
    return _save(fig, path)


def per_class_plot(y: np.ndarray, pred: np.ndarray, labels: Sequence[str], path: Path) -> Path:
    from sklearn.metrics import precision_recall_fscore_support

    plt = _pyplot()
    k = len(labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, pred, labels=list(range(k)), zero_division=0
    )
    x = np.arange(k)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.5 * k + 2), 4))
    for offset, values, name in ((-0.27, precision, "precision"), (0.0, recall, "recall"), (0.27, f1, "F1")):
        ax.bar(x + offset, values, width=0.27, label=name)
    ax.set_xticks(
        x,
        [f"{lab} ({n})" for lab, n in zip(labels, support, strict=True)],
        rotation=60,
        ha="right",
        fontsize=8,
    )
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Per-class metrics (support in brackets)")
    return _save(fig, path)


def roc_plot(y: np.ndarray, proba: np.ndarray, labels: Sequence[str], path: Path) -> Path:
    """Binary only: positive class = labels[1]."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _pyplot()
    fpr, tpr, _ = roc_curve(y == 1, proba[:, 1])
    auc = roc_auc_score(y == 1, proba[:, 1])
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label=f"AUC = {auc:.3f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel(f"true positive rate ({labels[1]})")
    ax.legend(loc="lower right")
    ax.set_title("ROC curve (test split)")
    return _save(fig, path)


def calibration_plot(y: np.ndarray, proba: np.ndarray, path: Path, bins: int = 10) -> Path:
    """Reliability diagram of the top-class confidence, with the bin sizes."""
    plt = _pyplot()
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    centres, accuracy, sizes = [], [], []
    for b in range(bins):
        mask = which == b
        if mask.any():
            centres.append(confidence[mask].mean())
            accuracy.append(correct[mask].mean())
            sizes.append(int(mask.sum()))
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    ax.plot(centres, accuracy, marker="o", label="model")
    for c, a, n in zip(centres, accuracy, sizes, strict=True):
        ax.annotate(str(n), (c, a), textcoords="offset points", xytext=(0, 6), fontsize=7, ha="center")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("confidence (top class)")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Reliability diagram (bin sizes)")
    return _save(fig, path)


def make_plots(y: np.ndarray, proba: np.ndarray, labels: Sequence[str], out_dir: Path) -> list[Path]:
    """All plots that fit the task; y are label indices into `labels`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pred = proba.argmax(axis=1)
    paths = [
        confusion_matrix_plot(y, pred, labels, out_dir / "confusion_matrix.png"),
        per_class_plot(y, pred, labels, out_dir / "per_class.png"),
    ]
    if len(labels) == 2 and len(np.unique(y)) == 2:
        paths.append(roc_plot(y, proba, labels, out_dir / "roc_curve.png"))
    paths.append(calibration_plot(y, proba, out_dir / "calibration.png"))
    return paths
