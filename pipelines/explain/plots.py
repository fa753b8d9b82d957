"""SHAP plots as PNG files beside the evaluation's other plots (matplotlib, Agg backend).

Drawn here rather than with shap.plots: those draw on pyplot's global figure and size themselves,
while the report wants the house layout (constrained, same DPI) and files it names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipelines.explain.tabular import TabularExplanation
from pipelines.explain.text import TextExplanation

__all__ = ["beeswarm_plot", "importance_plot", "text_plot"]

_DPI = 110  # as pipelines/evaluate/plots.py
_TOP = 15  # features shown: the rest share the remaining importance and would be unreadable
_POSITIVE, _NEGATIVE = "#b3261e", "#1f77b4"  # raises / lowers the class probability


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI, bbox_inches="tight", pad_inches=0.1)
    _pyplot().close(fig)
    return path


def _shown_classes(labels: list[str]) -> list[int]:
    """Binary: the positive class only (the other's values are its exact negatives)."""
    return [1] if len(labels) == 2 else list(range(len(labels)))


def importance_plot(result: TabularExplanation, path: Path) -> Path:
    """Mean |SHAP| per feature (top 15), one bar per shown class, most important on top."""
    importance = result.mean_abs()
    classes = _shown_classes(result.labels)
    order = np.argsort(-importance[:, classes].sum(axis=1), kind="stable")[:_TOP]
    fig, ax = _pyplot().subplots(figsize=(7.5, 0.38 * len(order) + 1.6), layout="constrained")
    height = 0.8 / len(classes)
    rows = np.arange(len(order))
    for n, k in enumerate(classes):
        ax.barh(rows + n * height, importance[order, k], height=height, label=result.labels[k])
    ax.set_yticks(
        rows + height * (len(classes) - 1) / 2, [result.feature_names[j] for j in order], fontsize=9
    )
    ax.invert_yaxis()
    ax.set_xlabel("mean |SHAP value| (probability points)")
    which = (
        f"P({result.labels[1]}); P({result.labels[0]}) mirrors it" if len(result.labels) == 2 else "per class"
    )
    ax.set_title(f"Global feature importance, {which}")
    if len(classes) > 1:
        ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", color="#ddd")
    return _save(fig, path)


def beeswarm_plot(result: TabularExplanation, k: int, path: Path) -> Path:
    """One dot per explained row and feature: x its SHAP value for class k, colour its feature value
    (low blue, high red, ranked within the feature), rows piled where they crowd (a beeswarm)."""
    values = result.values[:, :, k]
    order = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:_TOP]
    fig, ax = _pyplot().subplots(figsize=(8.0, 0.42 * len(order) + 1.8), layout="constrained")
    cmap = _pyplot().get_cmap("coolwarm")
    for row, j in enumerate(order):
        x = values[:, j]
        ranks = np.argsort(np.argsort(result.data[:, j], kind="stable"), kind="stable")
        colour = ranks / max(len(ranks) - 1, 1)
        ax.scatter(x, row + _swarm(x), c=cmap(colour), s=12, linewidths=0, zorder=3)
    ax.axvline(0, color="#999", linewidth=1, zorder=1)
    ax.set_yticks(range(len(order)), [result.feature_names[j] for j in order], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel(f"SHAP value: change of P({result.labels[k]}) (probability points)")
    ax.set_title(f"SHAP values for P({result.labels[k]}), {len(values)} test rows")
    colourbar = fig.colorbar(
        _pyplot().cm.ScalarMappable(cmap=cmap), ax=ax, ticks=[0, 1], fraction=0.03, pad=0.01
    )
    colourbar.ax.set_yticklabels(["low", "high"])
    colourbar.set_label("feature value")
    return _save(fig, path)


def _swarm(x: np.ndarray, width: float = 0.38, bins: int = 60) -> np.ndarray:
    """Vertical offsets: rows in the same x bin alternate above and below the line, deterministic."""
    if len(x) == 0:
        return np.zeros(0)
    span = float(x.max() - x.min()) or 1.0
    which = np.floor((x - x.min()) / span * (bins - 1)).astype(int)
    offsets = np.zeros(len(x))
    crowd = np.bincount(which, minlength=bins).max()
    step = width / max(crowd / 2, 1)
    seen: dict[int, int] = {}
    for i in np.argsort(x, kind="stable"):
        n = seen.get(int(which[i]), 0)
        seen[int(which[i])] = n + 1
        offsets[i] = ((n + 1) // 2) * step * (1 if n % 2 else -1)
    return offsets


def text_plot(result: TextExplanation, names: list[str], path: Path) -> Path:
    """Each explained text on a line, its tokens shaded by their attribution toward the predicted
    class (red raises it, blue lowers it, scaled per text), with the case name and the prediction."""
    plt = _pyplot()
    lines = len(names)
    fig = plt.figure(figsize=(11.0, 0.55 * lines + 0.9))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    renderer = fig.canvas.get_renderer()
    width_px = fig.bbox.width
    cmap = plt.get_cmap("RdBu_r")
    y_step = 1.0 / (lines + 1)
    title = "Token attributions toward the predicted class (red raises, blue lowers)"
    fig.text(0.01, 1 - y_step * 0.5, title, fontsize=10, weight="bold", va="center")
    for i, name in enumerate(names):
        y = 1 - y_step * (i + 1.2)
        k = int(result.proba[i].argmax())
        label = f"{name[:38]} → {result.labels[k]} ({result.proba[i, k]:.2f}):"
        x = 0.01
        head = ax.text(x, y, label, fontsize=8, color="#333", va="center", transform=ax.transAxes)
        x += max(head.get_window_extent(renderer).width / width_px + 0.01, 0.36)
        values = result.values[i][:, k]
        scale = float(np.abs(values).max()) or 1.0
        for token, value in zip(result.tokens[i], values, strict=True):
            if not token.strip():
                continue
            piece = ax.text(
                x, y, token.strip(), fontsize=9, va="center", transform=ax.transAxes,
                color="white" if abs(value) / scale > 0.55 else "black",  # readable on dark shades
                bbox={"facecolor": cmap(0.5 + 0.5 * value / scale), "edgecolor": "none", "pad": 1.5},
            )  # fmt: skip
            x += piece.get_window_extent(renderer).width / width_px + 0.006
    return _save(fig, path)
