"""Two-sample drift statistics: reference (training) against current (a window of sampled requests).

Defaults follow Evidently's default data drift algorithm (docs-old.evidentlyai.com/reference/
data-drift-algorithm; release notes of evidently 0.1.50, "Automatic Stattest Selection"):
- up to 1,000 reference rows: numerical columns -> two-sample Kolmogorov-Smirnov, drift at p < 0.05;
  categorical columns -> chi-square, drift at p < 0.05;
- above 1,000 reference rows (here: and window rows, see compare_column): numerical -> Wasserstein
  distance normed by the reference's standard
  deviation, drift at >= 0.1; categorical -> Jensen-Shannon distance, drift at >= 0.1;
- PSI (Evidently's `psi` stattest) drifts at >= 0.1;
- the dataset drifts when at least half (drift_share 0.5) of the columns drift.
Evidently uses a Z-test for binary categoricals; here chi-square covers them too (same hypothesis).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

AUTO_SWITCH_ROWS = 1000  # Evidently's "small data" boundary (reference rows)
_EPS = 1e-4  # floor for empty bins in PSI / JS, as is customary
_BINS = 10  # PSI/JS bins: deciles of the reference


@dataclass(frozen=True)
class ColumnResult:
    feature: str
    kind: str  # numerical | categorical
    method: str  # the test that decides drift
    score: float  # its statistic (p-value for tests, distance otherwise)
    threshold: float
    drifted: bool
    stats: dict[str, float]  # every statistic computed, for the report and the metrics


def _bin_edges(reference: np.ndarray) -> np.ndarray:
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, _BINS + 1)))
    if len(edges) < 2:  # a constant column
        edges = np.array([reference.min() - 0.5, reference.max() + 0.5])
    edges = edges.astype(float)
    edges[0], edges[-1] = -np.inf, np.inf
    return edges


def _proportions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts, _ = np.histogram(values, bins=edges)
    share = counts / max(1, counts.sum())
    clipped: np.ndarray = np.clip(share, _EPS, None)
    return clipped


def psi(reference_share: np.ndarray, current_share: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins."""
    return float(np.sum((current_share - reference_share) * np.log(current_share / reference_share)))


def jensenshannon(reference_share: np.ndarray, current_share: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, so 0..1) of two share vectors over the same bins."""
    from scipy.spatial.distance import jensenshannon as js

    return float(js(reference_share, current_share, base=2))


def numerical(reference: np.ndarray, current: np.ndarray) -> dict[str, float]:
    from scipy import stats

    edges = _bin_edges(reference)
    ref_share, cur_share = _proportions(reference, edges), _proportions(current, edges)
    ks = stats.ks_2samp(reference, current)
    std = float(np.std(reference)) or 1.0
    return {
        "ks_stat": float(ks.statistic),
        "ks_p_value": float(ks.pvalue),
        "psi": psi(ref_share, cur_share),
        "jensenshannon": jensenshannon(ref_share, cur_share),
        "wasserstein": float(stats.wasserstein_distance(reference, current)) / std,
    }


def categorical(reference: Sequence[Any], current: Sequence[Any]) -> dict[str, float]:
    from scipy.stats import chi2_contingency

    ref_counts, cur_counts = Counter(map(str, reference)), Counter(map(str, current))
    categories = sorted(set(ref_counts) | set(cur_counts))
    ref = np.array([ref_counts[c] for c in categories], dtype=float)
    cur = np.array([cur_counts[c] for c in categories], dtype=float)
    ref_share = np.clip(ref / max(1.0, ref.sum()), _EPS, None)
    cur_share = np.clip(cur / max(1.0, cur.sum()), _EPS, None)
    if len(categories) > 1:
        result = chi2_contingency(np.vstack([ref, cur]))
        chi2_stat, chi2_p = float(result.statistic), float(result.pvalue)
    else:
        chi2_stat, chi2_p = 0.0, 1.0
    return {
        "chi2_stat": chi2_stat,
        "chi2_p_value": chi2_p,
        "psi": psi(ref_share, cur_share),
        "jensenshannon": jensenshannon(ref_share, cur_share),
    }


def _decide(method: str, stats: dict[str, float], thresholds: Any) -> tuple[float, float, bool]:
    if method == "ks":
        return stats["ks_p_value"], thresholds.ks_p_value, stats["ks_p_value"] < thresholds.ks_p_value
    if method == "chi2":
        return stats["chi2_p_value"], thresholds.chi2_p_value, stats["chi2_p_value"] < thresholds.chi2_p_value
    limit = float(getattr(thresholds, method))
    return stats[method], limit, stats[method] >= limit


def compare_column(
    feature: str, reference: Sequence[Any], current: Sequence[Any], thresholds: Any, *, is_numeric: bool
) -> ColumnResult:
    """Every statistic of one column, and the drift decision of the configured (or automatic) test."""
    # Evidently switches on the reference size alone; here both sides must be large, because a distance
    # with a fixed threshold has a sampling-noise floor set by the smaller side (JS over 19 classes from
    # 120 window rows is ~0.18 with no drift at all), while a test's p-value accounts for the sample size.
    large = min(len(reference), len(current)) > AUTO_SWITCH_ROWS
    if is_numeric:
        stats = numerical(np.asarray(reference, dtype=float), np.asarray(current, dtype=float))
        method = thresholds.numerical_test
        if method == "auto":
            method = "wasserstein" if large else "ks"
        kind = "numerical"
    else:
        stats = categorical(reference, current)
        method = thresholds.categorical_test
        if method == "auto":
            method = "jensenshannon" if large else "chi2"
        kind = "categorical"
    score, limit, drifted = _decide(method, stats, thresholds)
    return ColumnResult(feature, kind, method, score, limit, drifted, stats)
