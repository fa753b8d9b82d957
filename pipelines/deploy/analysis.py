"""Canary analysis: compare the canary's window of requests with the baseline's, check by check.

The comparison side is the *baseline*: a fresh instance of the stable version, started together with
the canary and given the same share of traffic (Kayenta's and Argo Rollouts' design). Both see the
same batching, queueing and warm-up, so a healthy canary looks like its baseline even on a busy
machine; production (the stable track) serves the rest and stays out of the comparison.

Every check ends `pass`, `fail`, `inconclusive` or `skipped`; the interval's result is `fail` if any
check fails, else `inconclusive` if any is inconclusive, else `pass` (skipped checks do not count:
they say why they could not run, e.g. the p99 ratio below 200 requests). Inconclusive never counts
as pass: the controller holds (the window grows) and, past `max_inconclusive` in a row, aborts.

A check fails only on evidence: a difference must be both large (beyond the threshold in model.yaml)
and statistically significant. The k significance tests of an interval each run at alpha/k
(Bonferroni), so two identical versions fail an interval with probability at most alpha, whatever
the number of checks.

    checks (model.yaml `rollout.analysis`)
    min_requests        canary and baseline each >= min_requests, else inconclusive (no verdict)
    error_rate          canary 5xx rate vs max_error_rate: one-sided exact binomial test; fails when
                        significantly above, holds when suggestive (the rate checks judge the window
                        since the first analysis step: evidence accumulates across steps)
    error_rate_ratio    canary 5xx rate vs baseline's: fails when > max_error_rate_ratio x and the
    client_error_ratio  one-sided Fisher exact test is significant; the same for 4xx answers (a
    shed_ratio          canary that answers 400 to valid input) and 429s (a canary that sheds load)
    latency_p95/p99     canary quantile / baseline quantile <= max_latency_ratio_p9x, or the difference
                        is under latency_noise_floor_ms; over it, fails when the bootstrap lower bound
                        of the ratio is over too, else inconclusive; p99 is skipped under 200 requests
    latency_mann_whitney  one-sided Mann-Whitney U "canary slower by more than a margin" (the larger
                        of latency_noise_floor_ms and latency_shift_floor_ratio of the baseline's
                        median): batched requests are not independent draws, so a shift of any size
                        would be "significant" too easily; the margin is tested, not just compared
    prediction_shift    classes expected < min_expected_class_count times are merged; the PSI, less
                        the (k-1)(1/n1+1/n2) two identical versions show from sampling alone, must
                        exceed max_prediction_psi and the chi-squared homogeneity test be significant
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pipelines.config.model import Analysis as Thresholds

__all__ = [
    "CHECK_NAMES",
    "CheckResult",
    "IntervalResult",
    "Result",
    "WindowData",
    "analyse",
    "bake",
    "combine",
    "unavailable",
]

Result = Literal["pass", "fail", "inconclusive", "skipped"]

# Additive smoothing of class proportions in PSI, so an empty class does not give log(0).
PSI_EPSILON = 1e-4
# Pseudo-count per class (Jeffreys) before the prediction-shift PSI: an empty cell in a window of a
# hundred requests is sampling noise, not an infinite shift.
PSI_PSEUDO_COUNT = 0.5
# Bootstrap resamples behind a latency-quantile verdict (deterministic seed).
BOOTSTRAP_RESAMPLES = 2000
# A latency sample needs this many observations beyond a quantile for the quantile to mean anything:
# p95 needs 40 requests per track, p99 needs 200.
MIN_TAIL_OBSERVATIONS = 2
# The significance tests of one analysis interval (the Bonferroni denominator).
TESTS_PER_INTERVAL = 8
# The absolute ceiling check, over its threshold with p under this but not significant: suggestive,
# so hold for more data rather than pass; a larger p is what a healthy version shows by chance.
HOLD_P = 0.05
OTHER_CLASSES = "(merged rare classes)"


@dataclass
class WindowData:
    """What the metrics source saw of one track (canary, baseline or stable) over one interval."""

    requests: int = 0  # every answered request, whatever its status
    errors: int = 0  # 5xx
    latencies: list[float] = field(default_factory=list)  # seconds, one per successful request
    class_counts: dict[str, int] = field(default_factory=dict)
    latency_binned: bool = False  # True when latencies were rebuilt from histogram buckets (Prometheus)
    client_errors: int = 0  # 4xx other than 429
    shed: int = 0  # 429: load shedding (queue full)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else math.nan

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return math.nan
        import numpy as np

        return float(np.quantile(np.asarray(self.latencies, dtype=float), q))

    def summary(self) -> dict[str, Any]:
        def rate(count: int) -> float | None:
            return _clean(count / self.requests if self.requests else math.nan)

        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": _clean(self.error_rate),
            "client_errors": self.client_errors,
            "client_error_rate": rate(self.client_errors),
            "shed": self.shed,
            "shed_rate": rate(self.shed),
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
    baseline: WindowData
    stable: WindowData | None = None  # production's share: reported, never compared

    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.result == "fail"]

    def inconclusive(self) -> list[CheckResult]:
        return [c for c in self.checks if c.result == "inconclusive"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "checks": [c.as_dict() for c in self.checks],
            "canary": self.canary.summary(),
            "baseline": self.baseline.summary(),
            "stable": self.stable.summary() if self.stable is not None else None,
        }


def combine(results: list[Result]) -> Result:
    """fail beats inconclusive beats pass; skipped checks do not count; nothing judged is inconclusive."""
    judged = [r for r in results if r != "skipped"]
    if not judged:
        return "inconclusive"
    if "fail" in judged:
        return "fail"
    if "inconclusive" in judged:
        return "inconclusive"
    return "pass"


CHECK_NAMES = (
    "min_requests",
    "error_rate",
    "error_rate_ratio",
    "client_error_ratio",
    "shed_ratio",
    "latency_p95_ratio",
    "latency_p99_ratio",
    "latency_mann_whitney",
    "prediction_shift",
)


def unavailable(reason: str) -> IntervalResult:
    """The interval when the metrics source could not be read: every check inconclusive."""
    checks = [CheckResult(name, "inconclusive", None, None, reason) for name in CHECK_NAMES]
    return IntervalResult("inconclusive", checks, WindowData(), WindowData())


def analyse(
    canary: WindowData,
    baseline: WindowData,
    thresholds: Thresholds,
    stable: WindowData | None = None,
    since_first: tuple[WindowData, WindowData] | None = None,
) -> IntervalResult:
    """Run every check on one interval's windows; see the module docstring.

    `since_first`: canary and baseline since the first analysis step began. Error, 4xx and 429 rates
    do not depend on the traffic share and both tracks had equal shares throughout, so the rate
    checks judge that growing window: evidence accumulates across steps. Latency and predictions
    are judged on this interval alone."""
    t = thresholds
    short = [
        f"{name} {w.requests}"
        for name, w in (("canary", canary), ("baseline", baseline))
        if w.requests < t.min_requests
    ]
    checks = [
        CheckResult(
            "min_requests",
            "inconclusive" if short else "pass",
            float(min(canary.requests, baseline.requests)),
            float(t.min_requests),
            f"canary {canary.requests}, baseline {baseline.requests} requests "
            f"(need {t.min_requests} each before any verdict)",
        )
    ]
    if short:
        skipped = f"not judged: too few requests ({', '.join(short)})"
        checks += [CheckResult(n, "inconclusive", None, None, skipped) for n in CHECK_NAMES[1:]]
        return IntervalResult("inconclusive", checks, canary, baseline, stable)
    alpha = t.alpha / TESTS_PER_INTERVAL
    floor = t.latency_noise_floor_ms / 1000
    rc, rb = since_first if since_first is not None else (canary, baseline)
    checks.append(error_rate_check("error_rate", rc, t.max_error_rate, alpha))
    checks.append(_rate_ratio("error_rate_ratio", "5xx", rc.errors, rb.errors, rc, rb, t, alpha))
    checks.append(
        _rate_ratio("client_error_ratio", "4xx", rc.client_errors, rb.client_errors, rc, rb, t, alpha)
    )
    checks.append(_rate_ratio("shed_ratio", "429", rc.shed, rb.shed, rc, rb, t, alpha))
    checks.append(_latency_ratio(canary, baseline, 0.95, t.max_latency_ratio_p95, alpha, floor))
    checks.append(_latency_ratio(canary, baseline, 0.99, t.max_latency_ratio_p99, alpha, floor))
    checks.append(_mann_whitney(canary, baseline, alpha, floor, t.latency_shift_floor_ratio))
    checks.append(_prediction_shift(canary, baseline, t, alpha))
    return IntervalResult(combine([c.result for c in checks]), checks, canary, baseline, stable)


def bake(canary: WindowData, thresholds: Thresholds, stable: WindowData | None = None) -> IntervalResult:
    """A bake (pause step) watches the canary's absolute 5xx rate. Too few requests is inconclusive,
    never pass: pods that die at 100% produce no samples and must not be promoted."""
    t = thresholds
    if canary.requests < t.min_requests:
        check = CheckResult(
            "bake_error_rate",
            "inconclusive",
            float(canary.requests),
            float(t.min_requests),
            f"{canary.requests} canary requests (need {t.min_requests} to judge the bake)",
        )
    else:
        check = error_rate_check("bake_error_rate", canary, t.max_error_rate, t.alpha)
    return IntervalResult(check.result, [check], canary, WindowData(), stable)


# ---- checks -------------------------------------------------------------------------------------
def error_rate_check(name: str, canary: WindowData, ceiling: float, alpha: float) -> CheckResult:
    """One-sided exact binomial test of H0: canary 5xx rate <= ceiling."""
    rate = canary.error_rate
    if math.isnan(rate):
        return CheckResult(name, "inconclusive", None, ceiling, "no canary requests")
    head = f"canary 5xx rate {rate:.4f} ({canary.errors}/{canary.requests}), max {ceiling}"
    if rate <= ceiling:
        return CheckResult(name, "pass", rate, ceiling, head)
    from scipy.stats import binomtest

    p = float(binomtest(canary.errors, canary.requests, ceiling, alternative="greater").pvalue)
    return CheckResult(name, _decide(p, alpha), rate, ceiling, f"{head}; one-sided binomial {_p(p, alpha)}")


def _decide(p: float, alpha: float) -> Result:
    """Over the threshold: fail when significant, hold when suggestive, else pass (chance)."""
    return "fail" if p < alpha else ("inconclusive" if p < HOLD_P else "pass")


def _p(p: float, alpha: float, *, hold: bool = True) -> str:
    verdict = (
        "significant" if p < alpha else ("suggestive: hold" if hold and p < HOLD_P else "not significant")
    )
    return f"p={p:.3g} ({verdict}; fails at < {alpha:.3g})"


def _rate_ratio(
    name: str,
    what: str,
    c_count: int,
    b_count: int,
    canary: WindowData,
    baseline: WindowData,
    t: Thresholds,
    alpha: float,
) -> CheckResult:
    """Canary's share of `what` answers vs the baseline's: fail when over the ratio and significant."""
    limit = t.max_error_rate_ratio
    c_rate, b_rate = c_count / canary.requests, b_count / baseline.requests
    ratio = c_rate / b_rate if b_rate > 0 else (math.inf if c_rate > 0 else 1.0)
    head = (
        f"canary {what} {c_rate:.4f} ({c_count}/{canary.requests}) vs baseline {b_rate:.4f} "
        f"({b_count}/{baseline.requests})"
    )
    if c_rate <= limit * b_rate:
        return CheckResult(name, "pass", ratio, limit, head)
    from scipy.stats import fisher_exact

    table = [[c_count, canary.requests - c_count], [b_count, baseline.requests - b_count]]
    p = float(fisher_exact(table, alternative="greater").pvalue)
    detail = f"{head}, ratio {ratio:.2f} > {limit}; one-sided Fisher exact {_p(p, alpha, hold=False)}"
    # No hold band here: a comparison that holds re-reads a window that keeps its chance excursion
    # (rate evidence accumulates), so twins would hold until they abort. Evidence that grows across
    # steps turns a real difference significant; the absolute ceiling check holds instead.
    return CheckResult(name, "fail" if p < alpha else "pass", ratio, limit, detail)


def _latency_ratio(
    canary: WindowData, baseline: WindowData, q: float, limit: float, alpha: float, floor: float
) -> CheckResult:
    name = f"latency_p{round(q * 100)}_ratio"
    tail_needed = math.ceil(MIN_TAIL_OBSERVATIONS / (1 - q) - 1e-9)
    have = min(len(canary.latencies), len(baseline.latencies))
    if have < tail_needed:
        return CheckResult(
            name,
            "skipped",
            None,
            limit,
            f"p{round(q * 100)} needs >= {tail_needed} successful requests per track, have {have}: "
            "judged by the other latency checks",
        )
    c_q, b_q = canary.quantile(q), baseline.quantile(q)
    if not (math.isfinite(c_q) and math.isfinite(b_q)) or b_q <= 0:
        return CheckResult(name, "inconclusive", None, limit, f"latency quantiles not usable ({c_q}, {b_q})")
    ratio = c_q / b_q
    detail = (
        f"canary p{round(q * 100)} {c_q * 1000:.1f} ms / baseline {b_q * 1000:.1f} ms = {ratio:.2f} "
        f"(max {limit}; differences under {floor * 1000:g} ms are noise)"
    )
    if ratio <= limit or (c_q - b_q) <= floor:
        return CheckResult(name, "pass", ratio, limit, detail)
    # Over the limit on the point estimate: a tail quantile of a few hundred requests is noisy, so
    # fail only when the bootstrap's one-sided lower bound is over it too; hold while the canary is
    # probably slower at all (the 95% bound over 1); else it is chance.
    low, low_hold = _bootstrap_ratio_lower_bounds(canary.latencies, baseline.latencies, q, (alpha, HOLD_P))
    detail += f"; bootstrap lower bounds {low:.2f} ({1 - alpha:.2%}), {low_hold:.2f} ({1 - HOLD_P:.0%})"
    result: Result = "fail" if low > limit else ("inconclusive" if low_hold > 1.0 else "pass")
    return CheckResult(name, result, ratio, limit, detail)


def _bootstrap_ratio_lower_bounds(
    canary: list[float],
    baseline: list[float],
    q: float,
    levels: tuple[float, float],
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> tuple[float, float]:
    import numpy as np

    rng = np.random.default_rng(0)  # deterministic: the same data give the same verdict
    c = np.asarray(canary, dtype=float)
    b = np.asarray(baseline, dtype=float)
    c_q = np.quantile(rng.choice(c, size=(resamples, len(c))), q, axis=1)
    b_q = np.quantile(rng.choice(b, size=(resamples, len(b))), q, axis=1)
    bounds = np.quantile(c_q / np.maximum(b_q, 1e-9), levels)
    return float(bounds[0]), float(bounds[1])


def _mann_whitney(
    canary: WindowData, baseline: WindowData, alpha: float, floor: float, floor_ratio: float
) -> CheckResult:
    name = "latency_mann_whitney"
    if len(canary.latencies) < 2 or len(baseline.latencies) < 2:
        return CheckResult(name, "inconclusive", None, alpha, "too few latencies for the test")
    import numpy as np
    from scipy.stats import mannwhitneyu

    c = np.asarray(canary.latencies, dtype=float)
    b = np.asarray(baseline.latencies, dtype=float)
    if not (np.isfinite(c).all() and np.isfinite(b).all()):
        return CheckResult(name, "inconclusive", None, alpha, "NaN or infinite latencies")
    # Batched requests share their latency (clusters, not independent draws), so "slower at all" is
    # too easy to show: the test is whether the canary is slower by MORE than the margin (the larger of
    # the noise floor and a share of the baseline's median), i.e. Mann-Whitney on canary - margin.
    needed = max(floor, floor_ratio * float(np.median(b)))
    p = float(mannwhitneyu(c - needed, b, alternative="greater").pvalue)
    if math.isnan(p):
        return CheckResult(name, "inconclusive", None, alpha, "test undefined (all latencies equal)")
    shift = _hodges_lehmann(c, b)
    slower = p < alpha
    detail = (
        f"Hodges-Lehmann shift {shift * 1000:+.2f} ms; margin {needed * 1000:.2f} ms (the larger of "
        f"{floor * 1000:g} ms and {floor_ratio:.0%} of the baseline median); one-sided p={p:.3g} that "
        f"the canary is slower by more than the margin (fails under alpha {alpha:.3g})"
    )
    return CheckResult(name, "fail" if slower else "pass", p, alpha, detail)


def _hodges_lehmann(c: Any, b: Any, max_pairs: int = 2_000_000) -> float:
    """Median of all pairwise differences canary - baseline (subsampled past max_pairs)."""
    import numpy as np

    if len(c) * len(b) > max_pairs:
        rng = np.random.default_rng(0)
        k = int(math.sqrt(max_pairs))
        c = rng.choice(c, size=min(k, len(c)), replace=False)
        b = rng.choice(b, size=min(k, len(b)), replace=False)
    return float(np.median(np.subtract.outer(c, b)))


def merge_rare_classes(
    a_counts: dict[str, int], b_counts: dict[str, int], min_expected: int
) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """Merge classes whose expected count (under "same distribution") is below `min_expected` in
    either track into one bucket, so sparse cells neither inflate PSI nor break chi-squared's
    approximation (Cochran's rule). The merged bucket is itself merged into the next-rarest class
    while it is still too small."""
    n_a, n_b = sum(a_counts.values()), sum(b_counts.values())
    total = n_a + n_b
    if total == 0:
        return {}, {}, []
    pooled = {c: a_counts.get(c, 0) + b_counts.get(c, 0) for c in set(a_counts) | set(b_counts)}
    pooled = {c: n for c, n in pooled.items() if n > 0}

    def expected_min(n: int) -> float:
        return n * min(n_a, n_b) / total

    keep = sorted((c for c in pooled if expected_min(pooled[c]) >= min_expected), key=lambda c: pooled[c])
    rare = [c for c in pooled if c not in keep]
    while rare and keep and expected_min(sum(pooled[c] for c in rare)) < min_expected:
        rare.append(keep.pop(0))  # the merged bucket is still too small: absorb the rarest kept class
    a = {c: a_counts.get(c, 0) for c in keep}
    b = {c: b_counts.get(c, 0) for c in keep}
    if rare:
        a[OTHER_CLASSES] = sum(a_counts.get(c, 0) for c in rare)
        b[OTHER_CLASSES] = sum(b_counts.get(c, 0) for c in rare)
    return a, b, sorted(rare)


def _prediction_shift(canary: WindowData, baseline: WindowData, t: Thresholds, alpha: float) -> CheckResult:
    name, limit = "prediction_shift", t.max_prediction_psi
    c_total, b_total = sum(canary.class_counts.values()), sum(baseline.class_counts.values())
    if c_total == 0 or b_total == 0:
        return CheckResult(
            name, "inconclusive", None, limit, f"{c_total} canary / {b_total} baseline predictions recorded"
        )
    c_counts, b_counts, rare = merge_rare_classes(
        canary.class_counts, baseline.class_counts, t.min_expected_class_count
    )
    note = f" ({len(rare)} rare classes merged)" if rare else ""
    if len(c_counts) < 2:
        return CheckResult(name, "pass", 0.0, limit, f"one class after merging{note}: nothing shifted")
    classes = sorted(c_counts)
    smoothed = [{c: counts[c] + PSI_PSEUDO_COUNT for c in classes} for counts in (c_counts, b_counts)]
    raw = psi(smoothed[0], smoothed[1], classes)
    # Under "same distribution", PSI ~ (1/n1 + 1/n2) * chi-squared(k-1): subtract its mean.
    noise = (len(classes) - 1) * (1 / c_total + 1 / b_total)
    psi_value = max(0.0, raw - noise)
    js = jensen_shannon(c_counts, b_counts, classes)
    head = (
        f"PSI {psi_value:.4f} ({raw:.4f} less {noise:.4f} expected from sampling), "
        f"Jensen-Shannon {js:.4f}{note}"
    )
    if psi_value <= limit:
        return CheckResult(name, "pass", psi_value, limit, head)
    p = _homogeneity_p(c_counts, b_counts, classes)
    detail = f"{head}; > {limit}; chi-squared homogeneity {_p(p, alpha, hold=False)}"
    return CheckResult(name, "fail" if p < alpha else "pass", psi_value, limit, detail)


def _proportions(counts: Mapping[str, float], classes: list[str]) -> list[float]:
    total = sum(counts.get(c, 0) for c in classes)
    return [(counts.get(c, 0) + PSI_EPSILON) / (total + PSI_EPSILON * len(classes)) for c in classes]


def psi(
    actual: Mapping[str, float], expected: Mapping[str, float], classes: list[str] | None = None
) -> float:
    """Population stability index of `actual` (canary) against `expected` (baseline) class counts."""
    names = classes or sorted(set(actual) | set(expected))
    a, e = _proportions(actual, names), _proportions(expected, names)
    return float(sum((ai - ei) * math.log(ai / ei) for ai, ei in zip(a, e, strict=True)))


def jensen_shannon(
    a_counts: Mapping[str, float], b_counts: Mapping[str, float], classes: list[str] | None = None
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
