"""Behavioural tests (CheckList style) declared in model.yaml: minimum functionality, invariance,
directional expectation.

Text cases: `input: {text: ...}`, `perturbed: {text: ...}`.
Tabular cases: `input` holds feature values, optionally starting from a `base` row:
`median:<label>` (the median feature row of that class in the test split) or `median` (all rows);
`perturbed` holds per-feature changes: a number sets the value, `"+20%"` / `"-10%"` scales it,
`"+1.5"` / `"-0.3"` adds to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.config import BehaviouralCase, DatasetConfig

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.artifacts import Predictor

__all__ = ["BehaviouralResult", "apply_change", "pass_counts", "resolve_tabular_input", "run_behavioural"]

_CHANGE = re.compile(r"^\s*([+-])\s*(\d+(?:\.\d*)?|\.\d+)\s*(%?)\s*$")
_KINDS = ("minimum_functionality", "invariance", "directional")


@dataclass(frozen=True)
class BehaviouralResult:
    name: str
    kind: str
    passed: bool
    detail: str
    """What happened, e.g. `predicted sports (p=0.91), expected sports`."""
    before: float | None = None
    """Directional: P(label) on the input."""
    after: float | None = None
    """Directional: P(label) on the perturbed input."""


def apply_change(current: float, change: Any, feature: str = "feature") -> float:
    """A perturbation of one tabular value: number = new value, "+20%" relative, "+1.5" additive."""
    if isinstance(change, bool):
        raise ValueError(f"{feature}: a change is a number or a string like '+20%' / '-1.5', not {change!r}")
    if isinstance(change, int | float):
        return float(change)
    if isinstance(change, str):
        match = _CHANGE.match(change)
        if match:
            sign = 1.0 if match.group(1) == "+" else -1.0
            amount = float(match.group(2))
            if match.group(3):
                return current * (1.0 + sign * amount / 100.0)
            return current + sign * amount
    raise ValueError(
        f"{feature}: cannot read change {change!r}; use a number, '+20%', '-10%', '+1.5' or '-0.3'"
    )


def _base_row(
    base: Any, features: Sequence[str], test_df: pd.DataFrame, label_column: str
) -> dict[str, float]:
    if not isinstance(base, str) or not (base == "median" or base.startswith("median:")):
        raise ValueError(f"base {base!r}: use 'median' or 'median:<label>'")
    rows = test_df
    if base.startswith("median:"):
        label = base.split(":", 1)[1]
        rows = test_df[test_df[label_column].astype(str) == label]
        if rows.empty:
            raise ValueError(f"base {base!r}: no rows labelled '{label}' in the test split")
    medians = rows[list(features)].median(numeric_only=False)
    return {f: float(medians[f]) for f in features}


def resolve_tabular_input(
    spec: Mapping[str, Any], features: Sequence[str], test_df: pd.DataFrame, label_column: str
) -> dict[str, float]:
    """A full feature row from a case's `input`: the `base` row (if any) plus explicit values."""
    row: dict[str, float] = {}
    if "base" in spec:
        row = _base_row(spec["base"], features, test_df, label_column)
    for key, value in spec.items():
        if key == "base":
            continue
        if key not in features:
            raise ValueError(f"unknown feature '{key}' (the model's features: {', '.join(features)})")
        if isinstance(value, str) and key not in row:
            raise ValueError(f"{key}: the relative change {value!r} needs a base row (base: median:<label>)")
        row[key] = apply_change(row.get(key, 0.0), value, key)
    missing = [f for f in features if f not in row]
    if missing:
        raise ValueError(
            f"input lacks feature(s) {', '.join(missing)}; add them or start from base: median:<label>"
        )
    return row


def _perturb_tabular(
    row: Mapping[str, float], changes: Mapping[str, Any], features: Sequence[str]
) -> dict[str, float]:
    out = dict(row)
    for key, change in changes.items():
        if key not in features:
            raise ValueError(f"unknown feature '{key}' (the model's features: {', '.join(features)})")
        out[key] = apply_change(out[key], change, key)
    return out


def _text_of(spec: Mapping[str, Any], column: str | None) -> str:
    for key in ("text", column):
        if key and isinstance(spec.get(key), str):
            return str(spec[key])
    raise ValueError("a text case needs `text: ...`")


def _inputs(
    case: BehaviouralCase, predictor: Predictor, test_df: pd.DataFrame, dataset: DatasetConfig
) -> list[Any]:
    """The case's input and, for invariance/directional, its perturbed twin, in the model's format."""
    if predictor.kind == "text":
        items = [_text_of(case.input, dataset.text_column)]
        if case.perturbed is not None:
            items.append(_text_of(case.perturbed, dataset.text_column))
        return items
    features = predictor.feature_names or []
    row = resolve_tabular_input(case.input, features, test_df, dataset.label_column)
    rows: list[Any] = [row]
    if case.perturbed is not None:
        rows.append(_perturb_tabular(row, case.perturbed, features))
    return rows


def _run_case(
    case: BehaviouralCase, predictor: Predictor, test_df: pd.DataFrame, dataset: DatasetConfig
) -> BehaviouralResult:
    labels = predictor.labels
    if case.label is not None and case.label not in labels:
        return BehaviouralResult(
            case.name, case.kind, False, f"unknown label '{case.label}' (model labels: {', '.join(labels)})"
        )
    try:
        items = _inputs(case, predictor, test_df, dataset)
    except ValueError as exc:
        return BehaviouralResult(case.name, case.kind, False, f"bad case: {exc}")
    proba = predictor.predict_proba(items)
    top = proba.argmax(axis=1)
    first = f"{labels[top[0]]} (p={proba[0, top[0]]:.2f})"
    if case.kind == "minimum_functionality":
        ok = labels[top[0]] == case.label
        return BehaviouralResult(case.name, case.kind, ok, f"predicted {first}, expected {case.label}")
    second = f"{labels[top[1]]} (p={proba[1, top[1]]:.2f})"
    if case.kind == "invariance":
        ok = bool(top[0] == top[1])
        return BehaviouralResult(case.name, case.kind, ok, f"predicted {first}, after perturbation {second}")
    assert case.label is not None and case.direction is not None
    col = labels.index(case.label)
    before, after = float(proba[0, col]), float(proba[1, col])
    ok = after > before if case.direction == "increase" else after < before
    detail = f"P({case.label}) {before:.3f} -> {after:.3f}, expected {case.direction}"
    return BehaviouralResult(case.name, case.kind, ok, detail, before, after)


def run_behavioural(
    cases: Sequence[BehaviouralCase], predictor: Predictor, test_df: pd.DataFrame, dataset: DatasetConfig
) -> list[BehaviouralResult]:
    """Run every case; a malformed case fails with its reason instead of stopping the evaluation."""
    return [_run_case(case, predictor, test_df, dataset) for case in cases]


def pass_counts(results: Sequence[BehaviouralResult]) -> dict[str, tuple[int, int]]:
    """kind -> (passed, total), for the kinds that have cases."""
    counts: dict[str, tuple[int, int]] = {}
    for kind in _KINDS:
        of_kind = [r for r in results if r.kind == kind]
        if of_kind:
            counts[kind] = (int(np.sum([r.passed for r in of_kind])), len(of_kind))
    return counts
