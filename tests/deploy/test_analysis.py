"""The canary checks on synthetic windows: each fault fails its check, a healthy twin passes,
and too little data is inconclusive, never pass."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipelines.config.model import Analysis
from pipelines.deploy.analysis import WindowData, analyse, jensen_shannon, psi, unavailable

T = Analysis()  # the defaults of model.yaml's rollout.analysis


def window(
    rng: np.random.Generator,
    n: int,
    *,
    error_rate: float = 0.0,
    latency_ms: float = 4.0,
    extra_ms: float = 0.0,
    p_malignant: float = 0.37,
) -> WindowData:
    errors = int(rng.binomial(n, error_rate))
    ok = n - errors
    latencies = (rng.gamma(4.0, latency_ms / 4.0, size=ok) + extra_ms) / 1000
    malignant = int(rng.binomial(ok, p_malignant))
    counts = {"malignant": malignant, "benign": ok - malignant}
    return WindowData(n, errors, latencies.tolist(), {k: v for k, v in counts.items() if v})


def by_name(result):
    return {c.check: c for c in result.checks}


def test_a_healthy_twin_passes_every_check_in_almost_every_interval():
    rng = np.random.default_rng(1)
    results = [analyse(window(rng, 200), window(rng, 1800), T).result for _ in range(200)]
    # each test is one-sided at alpha 0.05 but fails only with a large effect too: near-zero false alarms
    assert results.count("pass") >= 198, results.count("fail")


def test_five_percent_errors_fail_the_absolute_and_relative_error_checks():
    rng = np.random.default_rng(2)
    result = analyse(window(rng, 200, error_rate=0.05), window(rng, 1800), T)
    checks = by_name(result)
    assert result.result == "fail"
    assert checks["error_rate"].result == "fail" and checks["error_rate_ratio"].result == "fail"
    assert "Fisher" in checks["error_rate_ratio"].detail


def test_one_error_against_none_is_not_evidence_of_a_worse_error_rate():
    canary = WindowData(300, 1, [0.004] * 299, {"benign": 299})
    stable = WindowData(300, 0, [0.004] * 300, {"benign": 300})
    checks = by_name(analyse(canary, stable, T))
    assert checks["error_rate"].result == "pass"  # 0.33% < 1%
    assert checks["error_rate_ratio"].result == "pass"  # ratio infinite, but Fisher p ~ 0.5


def test_150_ms_of_extra_latency_fails_quantiles_and_mann_whitney():
    rng = np.random.default_rng(3)
    checks = by_name(analyse(window(rng, 200, extra_ms=150), window(rng, 1800), T))
    for name in ("latency_p95_ratio", "latency_p99_ratio", "latency_mann_whitney"):
        assert checks[name].result == "fail", checks[name]


def test_a_sub_millisecond_shift_is_noise_even_when_significant():
    rng = np.random.default_rng(4)
    checks = by_name(analyse(window(rng, 2000, extra_ms=0.5), window(rng, 2000), T))
    assert checks["latency_mann_whitney"].value is not None and checks["latency_mann_whitney"].value < 0.05
    assert checks["latency_mann_whitney"].result == "pass"
    assert checks["latency_p95_ratio"].result == "pass"


def test_a_model_that_predicts_one_class_fails_the_prediction_shift_check():
    rng = np.random.default_rng(5)
    checks = by_name(analyse(window(rng, 200, p_malignant=0.0), window(rng, 1800), T))
    assert checks["prediction_shift"].result == "fail"
    assert checks["prediction_shift"].value > T.max_prediction_psi


def test_too_few_canary_requests_is_inconclusive_for_every_check():
    rng = np.random.default_rng(6)
    result = analyse(window(rng, T.min_requests - 1, error_rate=0.5), window(rng, 1800), T)
    assert result.result == "inconclusive"
    assert {c.result for c in result.checks} == {"inconclusive"}


def test_no_stable_baseline_makes_the_relative_checks_inconclusive():
    rng = np.random.default_rng(7)
    checks = by_name(analyse(window(rng, 300), window(rng, 5), T))
    for name in ("error_rate_ratio", "latency_p95_ratio", "latency_mann_whitney", "prediction_shift"):
        assert checks[name].result == "inconclusive", name


def test_nan_latencies_are_inconclusive_not_pass():
    canary = WindowData(200, 0, [math.nan] * 200, {"benign": 200})
    stable = WindowData(400, 0, [0.004] * 400, {"benign": 400})
    checks = by_name(analyse(canary, stable, T))
    assert checks["latency_mann_whitney"].result == "inconclusive"
    assert checks["latency_p95_ratio"].result == "inconclusive"
    assert analyse(canary, stable, T).result == "inconclusive"


def test_a_metrics_outage_is_inconclusive():
    result = unavailable("metrics source down: connection refused")
    assert result.result == "inconclusive" and all(c.result == "inconclusive" for c in result.checks)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [({"x": 50, "y": 50}, {"x": 50, "y": 50}, 0.0), ({"x": 90, "y": 10}, {"x": 10, "y": 90}, 3.5155)],
)
def test_psi_matches_its_definition(a, b, expected):
    assert psi(a, b) == pytest.approx(expected, abs=1e-3)


def test_jensen_shannon_is_zero_for_equal_and_one_for_disjoint_distributions():
    assert jensen_shannon({"a": 10}, {"a": 20}) == pytest.approx(0.0, abs=1e-6)
    assert jensen_shannon({"a": 10}, {"b": 10}) == pytest.approx(1.0, abs=1e-2)


def test_interval_report_has_no_nan_so_it_is_valid_json():
    import json

    rng = np.random.default_rng(8)
    result = analyse(WindowData(), window(rng, 100), T)
    json.dumps(result.as_dict(), allow_nan=False)
