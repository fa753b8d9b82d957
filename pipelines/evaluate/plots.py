"""Evaluation plots as PNG files (matplotlib, Agg backend: no display needed).

Layout is matplotlib's constrained layout, so legends placed outside the axes never cover data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.evaluate.findings import LOW_RECALL

__all__ = ["calibration_plot", "confusion_matrix_plot", "make_plots", "per_class_plot", "roc_plot"]

_DPI = 110  # sharp enough in a PR comment or HTML report, small files
_CANDIDATE, _CHAMPION = "#1f77b4", "#7f7f7f"  # candidate in colour, champion in grey throughout
_LOW_RECALL_COLOUR = "#b3261e"  # tick labels of classes recalled below LOW_RECALL


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _figure(width: float, height: float) -> tuple[Any, Any]:
    fig, ax = _pyplot().subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=_DPI, bbox_inches="tight", pad_inches=0.1)  # long tick labels never clipped
    _pyplot().close(fig)
    return path


def _counts(y: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (y, pred), 1)
    return counts


def confusion_matrix_plot(y: np.ndarray, pred: np.ndarray, labels: Sequence[str], path: Path) -> Path:
    """Colour and the large number are the share of each true class (rows sum to 100%); the
    count is under it, so colour and text always agree."""
    k = len(labels)
    counts = _counts(y, pred, k)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(4.8, 0.62 * k + 2.4)
    fig, ax = _figure(size + 1.2, size)
    image = ax.imshow(shares * 100, cmap="Blues", vmin=0, vmax=100)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02, label="% of the true class")
    ax.set_xticks(
        range(k), labels, rotation=45 if k > 2 else 0, ha="right" if k > 2 else "center", fontsize=9
    )
    ax.set_yticks(
        range(k), [f"{lab} ({n})" for lab, n in zip(labels, counts.sum(axis=1), strict=True)], fontsize=9
    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (rows in test split)")
    font = 14 if k <= 3 else 10 if k <= 8 else 8
    for i in range(k):
        for j in range(k):
            if counts[i, j] == 0 and k > 6 and i != j:
                continue  # many classes: empty cells stay blank so the errors stand out
            ax.text(
                j,
                i,
                f"{shares[i, j]:.0%}\n({counts[i, j]})",
                ha="center",
                va="center",
                fontsize=font,
                color="white" if shares[i, j] > 0.55 else "black",
            )
    ax.set_title("Confusion matrix: % of each true class (count)")
    return _save(fig, path)


def per_class_plot(y: np.ndarray, pred: np.ndarray, labels: Sequence[str], path: Path) -> Path:
    """A dot plot sorted by F1, weakest class on top; the axis spans the values (dots, unlike bars,
    need no zero baseline), so 0.93 vs 0.97 is visible. Classes recalled below LOW_RECALL in red."""
    from sklearn.metrics import precision_recall_fscore_support

    k = len(labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, pred, labels=list(range(k)), zero_division=0
    )
    order = np.argsort(f1, kind="stable")
    fig, ax = _figure(7.0, max(2.8, 0.5 * k + 1.2))
    rows = np.arange(k)
    # each measure on its own line within the class's row, so equal values never hide each other
    styles = (
        ("precision", precision, "s", "#ff7f0e", -0.25),
        ("F1", f1, "o", _CANDIDATE, 0.0),
        ("recall", recall, "^", "#2ca02c", 0.25),
    )
    for name, values, marker, colour, offset in styles:
        size = 70 if name == "F1" else 40
        ax.scatter(values[order], rows + offset, marker=marker, s=size, color=colour, label=name, zorder=3)
    for row, c in enumerate(order):
        ax.annotate(f"F1 {f1[c]:.2f}", (f1[c], row), textcoords="offset points", xytext=(9, -3), fontsize=7)
    ax.set_yticks(rows, [f"{labels[c]} (n={support[c]})" for c in order], fontsize=9)
    for tick, c in zip(ax.get_yticklabels(), order, strict=True):
        if support[c] and recall[c] < LOW_RECALL:
            tick.set_color(_LOW_RECALL_COLOUR)
    ax.invert_yaxis()  # weakest first
    low = float(min(precision.min(), recall.min(), f1.min()))
    ax.set_xlim(max(0.0, np.floor(low * 10) / 10 - 0.05), 1.02)
    ax.grid(axis="x", color="#ddd", zorder=0)
    ax.set_xlabel("score (axis starts near the lowest value)")
    weak = bool(np.any((support > 0) & (recall < LOW_RECALL)))
    ax.set_title("Per-class metrics, sorted by F1" + (f" (red: recall < {LOW_RECALL:g})" if weak else ""))
    fig.legend(loc="outside upper center", ncol=3, fontsize=9, frameon=False)
    return _save(fig, path)


def roc_plot(
    y: np.ndarray,
    proba: np.ndarray,
    labels: Sequence[str],
    path: Path,
    champion_proba: np.ndarray | None = None,
    champion_label: str | None = None,
) -> Path:
    """Binary only: positive class = labels[1]. The champion's curve, when given, is overlaid on the
    same rows; the dot is the operating point of the predicted label (the most probable class)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = _figure(5.4, 5.0)
    positive = y == 1
    if champion_proba is not None:
        fpr, tpr, _ = roc_curve(positive, champion_proba[:, 1])
        auc = roc_auc_score(positive, champion_proba[:, 1])
        ax.plot(
            fpr,
            tpr,
            color=_CHAMPION,
            linestyle="-.",
            label=f"champion {champion_label or ''} AUC = {auc:.3f}",
        )
    fpr, tpr, _ = roc_curve(positive, proba[:, 1])
    auc = roc_auc_score(positive, proba[:, 1])
    ax.plot(fpr, tpr, color=_CANDIDATE, label=f"candidate AUC = {auc:.3f}")
    pred = proba.argmax(axis=1) == 1
    op_fpr = float(np.mean(pred[~positive])) if (~positive).any() else 0.0
    op_tpr = float(np.mean(pred[positive])) if positive.any() else 0.0
    ax.scatter([op_fpr], [op_tpr], color=_CANDIDATE, zorder=3, label=f"predicted label (TPR {op_tpr:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="#bbb", linewidth=1, label="chance")
    ax.set_xlabel(f"false positive rate ({labels[0]} called {labels[1]})")
    ax.set_ylabel(f"true positive rate (sensitivity, {labels[1]})")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("ROC curve (test split)")
    return _save(fig, path)


def calibration_plot(y: np.ndarray, proba: np.ndarray, path: Path, bins: int = 10) -> Path:
    """Reliability diagram of the top-class confidence, with the bin sizes."""
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
    fig, ax = _figure(5.4, 5.0)
    ax.plot([0, 1], [0, 1], linestyle="--", color="#bbb", linewidth=1, label="perfect calibration")
    ax.plot(centres, accuracy, marker="o", color=_CANDIDATE, label="model")
    for c, a, n in zip(centres, accuracy, sizes, strict=True):
        ax.annotate(str(n), (c, a), textcoords="offset points", xytext=(0, 6), fontsize=8, ha="center")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("confidence (top class)")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Reliability diagram (rows per bin)")
    return _save(fig, path)


def make_plots(
    y: np.ndarray,
    proba: np.ndarray,
    labels: Sequence[str],
    out_dir: Path,
    *,
    champion_proba: np.ndarray | None = None,
    champion_label: str | None = None,
) -> list[Path]:
    """All plots that fit the task; y are label indices into `labels`, and `champion_proba`, when
    given, has its columns in the same order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pred = proba.argmax(axis=1)
    paths = [
        confusion_matrix_plot(y, pred, labels, out_dir / "confusion_matrix.png"),
        per_class_plot(y, pred, labels, out_dir / "per_class.png"),
    ]
    if len(labels) == 2 and len(np.unique(y)) == 2:
        paths.append(roc_plot(y, proba, labels, out_dir / "roc_curve.png", champion_proba, champion_label))
    paths.append(calibration_plot(y, proba, out_dir / "calibration.png"))
    return paths
