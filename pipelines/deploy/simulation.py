"""Synthetic analysis windows: what the analysis sees of two tracks whose requests follow known rates,
latency distributions and class mixes. Used to measure the checks' false alarms on healthy twins and
their power on faults without a server (scripts/canary_simulation.py, tests/deploy/test_analysis.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipelines.deploy.analysis import WindowData

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipelines.config.model import Analysis

__all__ = ["LONG_TAIL_17", "TrackModel", "merge", "rollout", "window"]

# A long-tailed class mix like the text model's topics: a few common classes, many rare ones.
_TAIL = np.array([0.2, 0.15, 0.1, 0.08, 0.07, 0.06, 0.05, 0.05, 0.04] + [0.025] * 8)
LONG_TAIL_17 = tuple(float(x) for x in _TAIL / _TAIL.sum())


@dataclass(frozen=True)
class TrackModel:
    """How one track answers: status shares, a gamma latency (mean `latency_ms`) plus a shift, classes."""

    error_rate: float = 0.0  # 5xx
    client_error_rate: float = 0.0  # 4xx
    shed_rate: float = 0.0  # 429
    latency_ms: float = 4.0
    extra_ms: float = 0.0
    class_shares: Sequence[float] = (0.63, 0.37)


def window(rng: np.random.Generator, n: int, track: TrackModel = TrackModel()) -> WindowData:
    """One interval of `n` answered requests drawn from `track`."""
    ok_share = 1 - track.error_rate - track.client_error_rate - track.shed_rate
    errors, client, shed, ok = (
        int(k)
        for k in rng.multinomial(n, [track.error_rate, track.client_error_rate, track.shed_rate, ok_share])
    )
    latencies = (rng.gamma(4.0, track.latency_ms / 4.0, size=ok) + track.extra_ms) / 1000
    shares = np.asarray(track.class_shares, dtype=float)
    counts = rng.multinomial(ok, shares / shares.sum())
    classes = {f"class-{i}": int(c) for i, c in enumerate(counts) if c}
    data = WindowData(n, errors, latencies.tolist(), classes)
    data.client_errors, data.shed = client, shed
    return data


def merge(a: WindowData, b: WindowData) -> WindowData:
    """Two windows of the same track as one (a step's window growing while it holds)."""
    classes = dict(a.class_counts)
    for name, count in b.class_counts.items():
        classes[name] = classes.get(name, 0) + count
    data = WindowData(a.requests + b.requests, a.errors + b.errors, a.latencies + b.latencies, classes)
    data.client_errors, data.shed = a.client_errors + b.client_errors, a.shed + b.shed
    return data


def rollout(
    rng: np.random.Generator,
    canary: TrackModel,
    baseline: TrackModel,
    thresholds: Analysis,
    step_requests: Sequence[int] = (150, 750),
) -> str:
    """The verdict of a rollout whose analysis steps see `step_requests` per track per interval (the
    local plan's 10% then 50% at ~150 requests/s), holding as the controller does: a held step adds
    another interval to its window, past `max_inconclusive` holds the rollout aborts."""
    from pipelines.deploy.analysis import analyse

    total_c = total_b = WindowData()
    for index, n in enumerate(step_requests):
        step_c = step_b = WindowData()
        for _ in range(thresholds.max_inconclusive + 1):
            c, b = window(rng, n, canary), window(rng, n, baseline)
            step_c, step_b = merge(step_c, c), merge(step_b, b)
            total_c, total_b = merge(total_c, c), merge(total_b, b)
            since = (total_c, total_b) if index else None
            result = analyse(step_c, step_b, thresholds, since_first=since).result
            if result == "fail":
                return "rolled_back"
            if result == "pass":
                break
        else:
            return "aborted"
    return "promoted"
