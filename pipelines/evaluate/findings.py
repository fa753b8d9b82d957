"""Headline findings of an evaluation, in words: what a reviewer should see before the tables.

- Binary tasks: the positive class's sensitivity with its count of missed positives. The positive
  class is `labels[1]` (labels sort alphabetically: `malignant` after `benign`), the same class
  ROC AUC scores; model.yaml has no setting for it.
- Classes recalled below LOW_RECALL, by name, with counts and what they were mistaken for.
- The majority-class baseline: what always answering the most frequent test class scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipelines.evaluate.bootstrap import POSITIVE_RECALL, Bootstrap

__all__ = ["LOW_RECALL", "baseline_proba", "findings"]

LOW_RECALL = 0.5  # below this a class is missed more often than found: worth naming


def baseline_proba(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Every row gets the test split's class shares: argmax is the majority class (accuracy = its
    share), ROC AUC is 0.5 and log loss is the entropy of the shares: the floor a model must beat."""
    shares = np.bincount(y, minlength=n_classes) / len(y)
    return np.tile(shares, (len(y), 1))


def _positive_class(y: np.ndarray, pred: np.ndarray, labels: Sequence[str], boot: Bootstrap | None) -> str:
    positive, negative = labels[1], labels[0]
    is_pos = y == 1
    found = int(np.sum(is_pos & (pred == 1)))
    total = int(np.sum(is_pos))
    if total == 0:
        return f"Sensitivity for {positive} (the positive class): no {positive} rows in the test split."
    missed = total - found
    interval = boot.candidate.get(POSITIVE_RECALL) if boot else None
    ci = f", 95% CI {interval}" if interval is not None else ""
    negatives = int(np.sum(~is_pos))
    false_alarms = int(np.sum(~is_pos & (pred == 1)))
    specificity = (negatives - false_alarms) / negatives if negatives else float("nan")
    return (
        f"Sensitivity for {positive} (the positive class): {found / total:.4f} ({found}/{total}){ci}; "
        f"{missed} {positive} {'case' if missed == 1 else 'cases'} missed (predicted {negative}). "
        f"Specificity {specificity:.4f} ({negatives - false_alarms}/{negatives}): "
        f"{false_alarms} {negative} predicted {positive}."
    )


def _low_recall(y: np.ndarray, pred: np.ndarray, labels: Sequence[str]) -> str | None:
    weak = []
    for c, label in enumerate(labels):
        rows = y == c
        total = int(rows.sum())
        if total == 0:
            continue
        found = int(np.sum(pred[rows] == c))
        if found / total >= LOW_RECALL:
            continue
        wrong = np.bincount(pred[rows & (pred != c)], minlength=len(labels))
        mistaken = (
            f", mostly predicted {labels[int(wrong.argmax())]} ({int(wrong.max())})" if wrong.any() else ""
        )
        weak.append((found / total, f"{label} recall {found / total:.2f} ({found}/{total}{mistaken})"))
    if not weak:
        return None
    return f"Recall below {LOW_RECALL:g}: " + "; ".join(text for _, text in sorted(weak)) + "."


def findings(
    y: np.ndarray,
    proba: np.ndarray,
    labels: Sequence[str],
    boot: Bootstrap | None = None,
) -> list[str]:
    """Sentences for the top of the report; `y` indexes `labels` (the columns of `proba`)."""
    pred = proba.argmax(axis=1)
    out = []
    if len(labels) == 2:
        out.append(_positive_class(y, pred, labels, boot))
    if (low := _low_recall(y, pred, labels)) is not None:
        out.append(low)
    counts = np.bincount(y, minlength=len(labels))
    majority = int(counts.argmax())
    accuracy = float(np.mean(pred == y))
    interval = boot.candidate.get("accuracy") if boot else None
    out.append(
        f"Baseline: always answering {labels[majority]} (the most frequent test class) scores accuracy "
        f"{counts[majority] / len(y):.4f}; the model scores {accuracy:.4f}"
        + (f", 95% CI {interval}." if interval is not None else ".")
    )
    return out
