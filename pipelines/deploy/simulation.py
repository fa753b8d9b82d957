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

__all__ = ["LONG_TAIL_17", "TrackModel", "window"]

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
        int(k) for k in rng.multinomial(n, [track.error_rate, track.client_error_rate, track.shed_rate, ok_share])
    )
    latencies = (rng.gamma(4.0, track.latency_ms / 4.0, size=ok) + track.extra_ms) / 1000
    shares = np.asarray(track.class_shares, dtype=float)
    counts = rng.multinomial(ok, shares / shares.sum())
    classes = {f"class-{i}": int(c) for i, c in enumerate(counts) if c}
    data = WindowData(n, errors, latencies.tolist(), classes)
    data.client_errors, data.shed = client, shed
    return data
