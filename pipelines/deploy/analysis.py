"""Canary analysis: compare the canary's window of requests with the stable's, check by check.

Every check ends `pass`, `fail` or `inconclusive`; the interval's result is `fail` if any check
fails, else `inconclusive` if any is inconclusive, else `pass`. Inconclusive (too little data, NaN,
the metrics source down) never counts as pass: the controller holds and, past `max_inconclusive`
in a row, aborts.

A check fails only on evidence, in the style of Kayenta's judge: a difference must be both large
(beyond the threshold in model.yaml) and, where the data allow a test, statistically significant.
Otherwise a healthy canary compared with itself would fail ~alpha of the time per test, and a
rollout of two intervals with five tests each would roll back a healthy version every few tries.

    checks (model.yaml `rollout.analysis`)
    min_requests        canary requests in the window >= min_requests, else inconclusive
    error_rate          canary error rate <= max_error_rate (absolute)
    error_rate_ratio    canary rate <= max_error_rate_ratio x stable rate, or not significantly
                        higher (one-sided Fisher exact test at mann_whitney_alpha)
    latency_p95/p99     canary quantile / stable quantile <= max_latency_ratio_p9x, or the
                        difference is below LATENCY_NOISE_FLOOR_SECONDS; over it, fails when the
                        bootstrap lower bound of the ratio is over too, else inconclusive (hold)
    latency_mann_whitney  one-sided Mann-Whitney U "canary slower" at mann_whitney_alpha; fails when
                        significant and the Hodges-Lehmann shift exceeds LATENCY_NOISE_FLOOR_SECONDS
    prediction_shift    PSI of predicted-class distributions <= max_prediction_psi, or not
                        significant (chi-squared test of homogeneity); Jensen-Shannon reported
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pipelines.config.model import Analysis as Thresholds

__all__ = [
    "LATENCY_NOISE_FLOOR_SECONDS",
    "MIN_STABLE_REQUESTS",
    "CheckResult",
    "IntervalResult",
    "Result",
    "WindowData",
    "analyse",
    "combine",
]

Result = Literal["pass", "fail", "inconclusive"]

# Latency differences smaller than this are scheduling noise on a shared CPU, not a slower model:
# 2 ms is ~10x the jitter between two identical versions measured here and 1/75 of the 150 ms
# regression the fault suite injects.
LATENCY_NOISE_FLOOR_SECONDS = 0.002
# Stable requests needed for any relative check (the baseline of the comparison).
MIN_STABLE_REQUESTS = 30
# Additive smoothing of class proportions in PSI, so an empty class does not give log(0).
PSI_EPSILON = 1e-4
# Bootstrap resamples behind a latency-quantile verdict (deterministic seed).
BOOTSTRAP_RESAMPLES = 400
# A latency sample needs this many observations beyond a quantile for the quantile to mean anything.
MIN_TAIL_OBSERVATIONS = 2


@dataclass
class WindowData:
    """What the metrics source saw of one track (stable or canary) over one interval."""

    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, one per request (binned: bucket bounds)
    class_counts: dict[str, int] = field(default_factory=dict)
    latency_binned: bool = False  # True when latencies were rebuilt from histogram buckets (Prometheus)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else math.nan

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return math.nan
        import numpy as np

        return float(np.quantile(np.asarray(self.latencies, dtype=float), q))

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": _clean(self.error_rate),
            "latency_p50_seconds": _clean(self.quantile(0.5)),
            "latency_p95_seconds": _clean(self.quantile(0.95)),
            "latency_p99_seconds": _clean(self.quantile(0.99)),
            "class_counts": dict(sorted(self.class_counts.items())),
        }


@dataclass
class CheckResult:
    check: str
    result: Result
    value: float | None  # the statistic compared with the threshold
    threshold: float | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["value"] = _clean(self.value)
        return data


@dataclass
class IntervalResult:
    result: Result
    checks: list[CheckResult]
    canary: WindowData
    stable: WindowData

    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.result == "fail"]

    def inconclusive(self) -> list[CheckResult]:
        return [c for c in self.checks if c.result == "inconclusive"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "checks": [c.as_dict() for c in self.checks],
            "canary": self.canary.summary(),
            "stable": self.stable.summary(),
        }


def combine(results: list[Result]) -> Result:
    """fail beats inconclusive beats pass; no checks at all is inconclusive."""
    if not results:
        return "inconclusive"
    if "fail" in results:
        return "fail"
    if "inconclusive" in results:
        return "inconclusive"
    return "pass"


def unavailable(reason: str) -> IntervalResult:
    """The interval when the metrics source could not be read: every check inconclusive."""
    checks = [CheckResult(name, "inconclusive", None, None, reason) for name in CHECK_NAMES]
    return IntervalResult("inconclusive", checks, WindowData(), WindowData())


CHECK_NAMES = (
    "min_requests",
    "error_rate",
    "error_rate_ratio",
    "latency_p95_ratio",
    "latency_p99_ratio",
    "latency_mann_whitney",
    "prediction_shift",
)


def analyse(canary: WindowData, stable: WindowData, thresholds: Thresholds) -> IntervalResult:
    """Run every check on one interval's windows; see the module docstring."""
    enough = canary.requests >= thresholds.min_requests
    checks = [
        CheckResult(
            "min_requests",
            "pass" if enough else "inconclusive",
            float(canary.requests),
            float(thresholds.min_requests),
            f"{canary.requests} canary requests (need {thresholds.min_requests})",
        )
    ]
    if not enough:
        skipped = "skipped: too few canary requests for a verdict"
        checks += [CheckResult(n, "inconclusive", None, None, skipped) for n in CHECK_NAMES[1:]]
        return IntervalResult("inconclusive", checks, canary, stable)
    checks.append(_error_rate(canary, thresholds))
    checks.append(_error_rate_ratio(canary, stable, thresholds))
    alpha = thresholds.mann_whitney_alpha
    checks.append(_latency_ratio(canary, stable, 0.95, thresholds.max_latency_ratio_p95, alpha))
    checks.append(_latency_ratio(canary, stable, 0.99, thresholds.max_latency_ratio_p99, alpha))
    checks.append(_mann_whitney(canary, stable, thresholds.mann_whitney_alpha))
    checks.append(_prediction_shift(canary, stable, thresholds))
    return IntervalResult(combine([c.result for c in checks]), checks, canary, stable)


# ---- checks -------------------------------------------------------------------------------------
def _error_rate(canary: WindowData, t: Thresholds) -> CheckResult:
    rate = canary.error_rate
    if math.isnan(rate):
        return CheckResult("error_rate", "inconclusive", None, t.max_error_rate, "no canary requests")
    result: Result = "fail" if rate > t.max_error_rate else "pass"
    detail = f"canary error rate {rate:.4f} ({canary.errors}/{canary.requests}), max {t.max_error_rate}"
    return CheckResult("error_rate", result, rate, t.max_error_rate, detail)


def _error_rate_ratio(canary: WindowData, stable: WindowData, t: Thresholds) -> CheckResult:
    name, limit = "error_rate_ratio", t.max_error_rate_ratio
    if stable.requests < MIN_STABLE_REQUESTS:
        return CheckResult(
            name,
            "inconclusive",
            None,
            limit,
            f"{stable.requests} stable requests (need {MIN_STABLE_REQUESTS})",
        )
    c_rate, s_rate = canary.error_rate, stable.error_rate
    ratio = c_rate / s_rate if s_rate > 0 else (math.inf if c_rate > 0 else 1.0)
    if c_rate <= limit * s_rate:
        return CheckResult(name, "pass", ratio, limit, f"canary {c_rate:.4f} vs stable {s_rate:.4f}")
    from scipy.stats import fisher_exact

    table = [
        [canary.errors, canary.requests - canary.errors],
        [stable.errors, stable.requests - stable.errors],
    ]
    p = float(fisher_exact(table, alternative="greater").pvalue)
    significant = p < t.mann_whitney_alpha
    detail = (
        f"canary {c_rate:.4f} vs stable {s_rate:.4f} (ratio {ratio:.2f} > {limit}); "
        f"one-sided Fisher exact p={p:.3g} ({'significant' if significant else 'not significant'} "
        f"at {t.mann_whitney_alpha})"
    )
    return CheckResult(name, "fail" if significant else "pass", ratio, limit, detail)


def _latency_ratio(
    canary: WindowData, stable: WindowData, q: float, limit: float, alpha: float
) -> CheckResult:
    name = f"latency_p{round(q * 100)}_ratio"
    if stable.requests < MIN_STABLE_REQUESTS or not canary.latencies or not stable.latencies:
        return CheckResult(
            name,
            "inconclusive",
            None,
            limit,
            f"{stable.requests} stable requests (need {MIN_STABLE_REQUESTS})",
        )
    tail_needed = math.ceil(MIN_TAIL_OBSERVATIONS / (1 - q))
    if min(len(canary.latencies), len(stable.latencies)) < tail_needed:
        return CheckResult(
            name, "inconclusive", None, limit, f"p{round(q * 100)} needs >= {tail_needed} requests per track"
        )
    c_q, s_q = canary.quantile(q), stable.quantile(q)
    if not (math.isfinite(c_q) and math.isfinite(s_q)) or s_q <= 0:
        return CheckResult(name, "inconclusive", None, limit, f"latency quantiles not usable ({c_q}, {s_q})")
    ratio = c_q / s_q
    detail = (
        f"canary p{round(q * 100)} {c_q * 1000:.1f} ms / stable {s_q * 1000:.1f} ms = {ratio:.2f} "
        f"(max {limit}; differences under {LATENCY_NOISE_FLOOR_SECONDS * 1000:.0f} ms are noise)"
    )
    if ratio <= limit or (c_q - s_q) <= LATENCY_NOISE_FLOOR_SECONDS:
        return CheckResult(name, "pass", ratio, limit, detail)
    # Over the limit on the point estimate: a tail quantile of a few hundred requests is noisy, so
    # fail only when the bootstrap's one-sided lower bound is over it too; else hold for more data.
    low = _bootstrap_ratio_lower_bound(canary.latencies, stable.latencies, q, alpha)
    detail += f"; bootstrap {1 - alpha:.0%} lower bound {low:.2f}"
    return CheckResult(name, "fail" if low > limit else "inconclusive", ratio, limit, detail)


def _bootstrap_ratio_lower_bound(
    canary: list[float], stable: list[float], q: float, alpha: float, resamples: int = BOOTSTRAP_RESAMPLES
) -> float:
    import numpy as np

    rng = np.random.default_rng(0)  # deterministic: the same data give the same verdict
    c = np.asarray(canary, dtype=float)
    s = np.asarray(stable, dtype=float)
    c_q = np.quantile(rng.choice(c, size=(resamples, len(c))), q, axis=1)
    s_q = np.quantile(rng.choice(s, size=(resamples, len(s))), q, axis=1)
    return float(np.quantile(c_q / np.maximum(s_q, 1e-9), alpha))


def _mann_whitney(canary: WindowData, stable: WindowData, alpha: float) -> CheckResult:
    name = "latency_mann_whitney"
    if stable.requests < MIN_STABLE_REQUESTS or len(canary.latencies) < 2 or len(stable.latencies) < 2:
        return CheckResult(name, "inconclusive", None, alpha, "too few latencies for the test")
    import numpy as np
    from scipy.stats import mannwhitneyu

    c = np.asarray(canary.latencies, dtype=float)
    s = np.asarray(stable.latencies, dtype=float)
    if not (np.isfinite(c).all() and np.isfinite(s).all()):
        return CheckResult(name, "inconclusive", None, alpha, "NaN or infinite latencies")
    p = float(mannwhitneyu(c, s, alternative="greater").pvalue)
    if math.isnan(p):
        return CheckResult(name, "inconclusive", None, alpha, "test undefined (all latencies equal)")
    shift = _hodges_lehmann(c, s)
    slower = p < alpha and shift > LATENCY_NOISE_FLOOR_SECONDS
    detail = (
        f"one-sided p={p:.3g} (alpha {alpha}); Hodges-Lehmann shift {shift * 1000:+.2f} ms "
        f"(fails when significant and > {LATENCY_NOISE_FLOOR_SECONDS * 1000:.0f} ms)"
    )
    return CheckResult(name, "fail" if slower else "pass", p, alpha, detail)


def _hodges_lehmann(c: Any, s: Any, max_pairs: int = 2_000_000) -> float:
    """Median of all pairwise differences canary - stable (subsampled past max_pairs)."""
    import numpy as np

    if len(c) * len(s) > max_pairs:
        rng = np.random.default_rng(0)
        k = int(math.sqrt(max_pairs))
        c = rng.choice(c, size=min(k, len(c)), replace=False)
        s = rng.choice(s, size=min(k, len(s)), replace=False)
    return float(np.median(np.subtract.outer(c, s)))


def _prediction_shift(canary: WindowData, stable: WindowData, t: Thresholds) -> CheckResult:
    name, limit = "prediction_shift", t.max_prediction_psi
    c_total, s_total = sum(canary.class_counts.values()), sum(stable.class_counts.values())
    if s_total < MIN_STABLE_REQUESTS or c_total == 0:
        return CheckResult(
            name, "inconclusive", None, limit, f"{c_total} canary / {s_total} stable predictions recorded"
        )
    classes = sorted(set(canary.class_counts) | set(stable.class_counts))
    psi_value, js = (
        psi(canary.class_counts, stable.class_counts, classes),
        jensen_shannon(canary.class_counts, stable.class_counts, classes),
    )
    if psi_value <= limit:
        return CheckResult(name, "pass", psi_value, limit, f"PSI {psi_value:.4f}, Jensen-Shannon {js:.4f}")
    p = _homogeneity_p(canary.class_counts, stable.class_counts, classes)
    significant = p < t.mann_whitney_alpha
    detail = (
        f"PSI {psi_value:.4f} > {limit}, Jensen-Shannon {js:.4f}; chi-squared homogeneity p={p:.3g} "
        f"({'significant' if significant else 'not significant'})"
    )
    return CheckResult(name, "fail" if significant else "pass", psi_value, limit, detail)


def _proportions(counts: dict[str, int], classes: list[str]) -> list[float]:
    total = sum(counts.get(c, 0) for c in classes)
    raw = [(counts.get(c, 0) + PSI_EPSILON) / (total + PSI_EPSILON * len(classes)) for c in classes]
    return raw


def psi(actual: dict[str, int], expected: dict[str, int], classes: list[str] | None = None) -> float:
    """Population stability index of `actual` (canary) against `expected` (stable) class counts."""
    names = classes or sorted(set(actual) | set(expected))
    a, e = _proportions(actual, names), _proportions(expected, names)
    return float(sum((ai - ei) * math.log(ai / ei) for ai, ei in zip(a, e, strict=True)))


def jensen_shannon(
    a_counts: dict[str, int], b_counts: dict[str, int], classes: list[str] | None = None
) -> float:
    """Jensen-Shannon divergence (base 2, 0..1) between two class-count distributions."""
    names = classes or sorted(set(a_counts) | set(b_counts))
    a, b = _proportions(a_counts, names), _proportions(b_counts, names)
    m = [(x + y) / 2 for x, y in zip(a, b, strict=True)]

    def kl(p: list[float], q: list[float]) -> float:
        return sum(pi * math.log2(pi / qi) for pi, qi in zip(p, q, strict=True) if pi > 0)

    return float(0.5 * kl(a, m) + 0.5 * kl(b, m))


def _homogeneity_p(a_counts: dict[str, int], b_counts: dict[str, int], classes: list[str]) -> float:
    from scipy.stats import chi2_contingency

    table = [[a_counts.get(c, 0) for c in classes], [b_counts.get(c, 0) for c in classes]]
    table = [list(col) for col in zip(*table, strict=True) if sum(col) > 0]  # drop classes nobody predicted
    if len(table) < 2:
        return 1.0
    rows = [list(r) for r in zip(*table, strict=True)]
    return float(chi2_contingency(rows).pvalue)


def _clean(value: float | None) -> float | None:
    """NaN and infinities are not JSON: report them as null."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)
