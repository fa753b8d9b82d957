"""Gates: absolute thresholds, "not worse than the champion by more than X", behavioural pass rates."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipelines.config import Gate
from pipelines.evaluate.metrics import higher_is_better

__all__ = ["GateResult", "check_gate", "check_gates", "check_pass_rate"]


@dataclass(frozen=True)
class GateResult:
    gate: str
    """What was checked: `accuracy min`, `macro_f1 max_regression`, `behavioural invariance`."""
    metric: str
    """The metric's name (behavioural: `<kind>_pass_rate`)."""
    value: float
    """The candidate's value (NaN when it could not be computed)."""
    threshold: float
    """The bound the value was compared with (NaN when nothing to compare: no champion yet)."""
    passed: bool
    message: str
    """One line: `macro_f1 = 0.512 < min 0.550`."""


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def check_gate(gate: Gate, metrics: Mapping[str, float], champion: Mapping[str, float] | None) -> GateResult:
    """One gate against the candidate's metrics (and the champion's, for max_regression)."""
    name = gate.metric
    value = float(metrics.get(name, math.nan))
    if gate.min is not None:
        label, threshold = f"{name} min", gate.min
        ok = value >= threshold
        message = f"{name} = {_fmt(value)} {'>=' if ok else '<'} min {_fmt(threshold)}"
    elif gate.max is not None:
        label, threshold = f"{name} max", gate.max
        ok = value <= threshold
        message = f"{name} = {_fmt(value)} {'<=' if ok else '>'} max {_fmt(threshold)}"
    else:
        assert gate.max_regression is not None
        label, allowed = f"{name} max_regression", gate.max_regression
        best = None if champion is None else champion.get(name)
        if best is None or math.isnan(best):
            return GateResult(label, name, value, math.nan, True, f"{name} = {_fmt(value)}; no champion yet")
        if higher_is_better(name):
            threshold = best - allowed
            ok = value >= threshold
            op = ">=" if ok else "<"
            message = f"{name} = {_fmt(value)} {op} champion {_fmt(best)} - {allowed:g} = {_fmt(threshold)}"
        else:
            threshold = best + allowed
            ok = value <= threshold
            op = "<=" if ok else ">"
            message = f"{name} = {_fmt(value)} {op} champion {_fmt(best)} + {allowed:g} = {_fmt(threshold)}"
    if math.isnan(value):
        return GateResult(label, name, value, threshold, False, f"{name} could not be computed on this split")
    return GateResult(label, name, value, threshold, ok, message)


def check_gates(
    gates: Sequence[Gate], metrics: Mapping[str, float], champion: Mapping[str, float] | None = None
) -> list[GateResult]:
    return [check_gate(g, metrics, champion) for g in gates]


def check_pass_rate(kind: str, passed: int, total: int, min_rate: float) -> GateResult:
    """The behavioural gate of one kind: the share of its cases that passed."""
    rate = passed / total if total else math.nan
    ok = total > 0 and rate >= min_rate
    op = ">=" if ok else "<"
    message = f"{kind} pass rate = {_fmt(rate)} ({passed}/{total}) {op} min {_fmt(min_rate)}"
    return GateResult(f"behavioural {kind}", f"{kind}_pass_rate", rate, min_rate, ok, message)
