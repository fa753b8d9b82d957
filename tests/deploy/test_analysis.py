"""The canary checks on synthetic windows (canary vs baseline, the same share of traffic each): each
fault fails its check, healthy twins pass, and too little data is inconclusive, never pass."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from pipelines.config.model import Analysis
from pipelines.deploy import simulation
from pipelines.deploy.analysis import (
    OTHER_CLASSES,
    WindowData,
    analyse,
    bake,
    combine,
    jensen_shannon,
    merge_rare_classes,
    psi,
    unavailable,
)
from pipelines.deploy.simulation import LONG_TAIL_17

T = Analysis()  # the defaults of model.yaml's rollout.analysis
TOPIC_SHARES = LONG_TAIL_17  # 17 classes, a few common and many rare, like the text model's topics


def window(
    rng: np.random.Generator,
    n: int,
    *,
    p_malignant: float = 0.37,
    shares: Sequence[float] | None = None,
    **track: float,
) -> WindowData:
    classes = shares if shares is not None else (1 - p_malignant, p_malignant)
    return simulation.window(rng, n, simulation.TrackModel(class_shares=tuple(classes), **track))


def by_name(result):
    return {c.check: c for c in result.checks}


@pytest.mark.parametrize(
    ("label", "n", "kwargs", "thresholds"),
    [
        ("tabular, no errors", 150, {}, T),
        # A realistic 1% 5xx on both sides, against a ceiling a team with that rate would set.
        ("tabular, 1% 5xx", 150, {"error_rate": 0.01}, Analysis(max_error_rate=0.03)),
        ("17 classes, long tail", 150, {"shares": TOPIC_SHARES}, T),
        (
            "17 classes, 1% 5xx + 1% 4xx",
            200,
            {"shares": TOPIC_SHARES, "error_rate": 0.01, "client_error_rate": 0.01},
            Analysis(max_error_rate=0.03),
        ),
    ],
)
def test_healthy_twins_pass_at_least_99_percent_of_400_intervals(label, n, kwargs, thresholds):
    rng = np.random.default_rng(1)
    results = [
        analyse(window(rng, n, **kwargs), window(rng, n, **kwargs), thresholds).result for _ in range(400)
    ]
    assert results.count("pass") >= 396, (label, {r: results.count(r) for r in set(results)})


def test_five_percent_errors_fail_the_absolute_check_on_a_binomial_test():
    rng = np.random.default_rng(2)
    result = analyse(window(rng, 400, error_rate=0.05), window(rng, 400), T)
    checks = by_name(result)
    assert result.result == "fail"
    assert checks["error_rate"].result == "fail" and "binomial p=" in checks["error_rate"].detail
    assert checks["error_rate_ratio"].result == "fail" and "Fisher" in checks["error_rate_ratio"].detail


@pytest.mark.parametrize(
    ("errors", "expected", "words"),
    [
        # 1.3% > 1%, but a true 1% shows >= 2 errors in 150 requests 44% of the time
        (2, "pass", "not significant"),
        (5, "inconclusive", "suggestive: hold"),  # p ~ 0.02: hold for more data
        (8, "fail", "significant"),  # p ~ 0.0002
    ],
)
def test_a_rate_above_the_ceiling_fails_only_on_evidence(errors, expected, words):
    canary = WindowData(150, errors, [0.004] * (150 - errors), {"benign": 150 - errors})
    baseline = WindowData(150, 0, [0.004] * 150, {"benign": 150})
    check = by_name(analyse(canary, baseline, T))["error_rate"]
    assert check.result == expected and words in check.detail, check.detail


def test_one_error_against_none_is_not_evidence_of_a_worse_error_rate():
    canary = WindowData(300, 1, [0.004] * 299, {"benign": 299})
    baseline = WindowData(300, 0, [0.004] * 300, {"benign": 300})
    checks = by_name(analyse(canary, baseline, T))
    assert checks["error_rate"].result == "pass"  # 0.33% < 1%
    assert checks["error_rate_ratio"].result == "pass"  # ratio infinite, but Fisher p ~ 0.5


def test_a_canary_answering_400_to_valid_input_fails_the_client_error_check():
    rng = np.random.default_rng(3)
    checks = by_name(analyse(window(rng, 200, client_error_rate=0.4), window(rng, 200), T))
    assert checks["client_error_ratio"].result == "fail", checks["client_error_ratio"]
    assert checks["error_rate"].result == "pass"  # 4xx are not 5xx: the failure names the right check


def test_a_canary_that_sheds_load_fails_the_429_check():
    rng = np.random.default_rng(4)
    checks = by_name(analyse(window(rng, 300, shed_rate=0.1), window(rng, 300, shed_rate=0.005), T))
    assert checks["shed_ratio"].result == "fail", checks["shed_ratio"]


def test_150_ms_of_extra_latency_fails_the_latency_checks():
    rng = np.random.default_rng(5)
    checks = by_name(analyse(window(rng, 300, extra_ms=150), window(rng, 300), T))
    for name in ("latency_p95_ratio", "latency_p99_ratio", "latency_mann_whitney"):
        assert checks[name].result == "fail", checks[name]


def test_a_sub_millisecond_shift_is_noise_even_when_significant():
    rng = np.random.default_rng(6)
    canary, baseline = window(rng, 2000, extra_ms=0.5), window(rng, 2000)
    # Plain Mann-Whitney calls the shift significant; the check tests the shift beyond the margin.
    assert mannwhitneyu(canary.latencies, baseline.latencies, alternative="greater").pvalue < 0.01
    checks = by_name(analyse(canary, baseline, T))
    assert checks["latency_mann_whitney"].result == "pass"
    assert checks["latency_p95_ratio"].result == "pass"


def test_a_fast_model_shifted_just_past_the_margin_by_chance_is_not_a_regression():
    # The healthy-twin flake this fixes: a ~10 ms model, canary +2.2 ms vs a 2 ms margin. Comparing the
    # point estimate with the margin failed it; testing "slower by more than the margin" does not,
    # while a shift well past the margin still fails.
    rng = np.random.default_rng(16)
    baseline = window(rng, 300, latency_ms=10)
    canary = window(rng, 300, latency_ms=10, extra_ms=2.2)
    check = by_name(analyse(canary, baseline, T))["latency_mann_whitney"]
    assert check.result == "pass", check.detail
    slower = by_name(analyse(window(rng, 300, latency_ms=10, extra_ms=6), baseline, T))
    assert slower["latency_mann_whitney"].result == "fail", slower["latency_mann_whitney"].detail


def test_the_latency_noise_floor_is_configurable_for_fast_models():
    # A 0.5 ms model that becomes 1.5 ms: 3x slower, but under the default 2 ms floor.
    rng = np.random.default_rng(7)
    canary, baseline = window(rng, 500, latency_ms=0.5, extra_ms=1.0), window(rng, 500, latency_ms=0.5)
    assert by_name(analyse(canary, baseline, T))["latency_mann_whitney"].result == "pass"
    tight = Analysis(latency_noise_floor_ms=0.2)
    checks = by_name(analyse(canary, baseline, tight))
    assert checks["latency_mann_whitney"].result == "fail"
    assert checks["latency_p95_ratio"].result == "fail"


def test_p99_is_skipped_below_200_requests_and_does_not_block_the_verdict():
    rng = np.random.default_rng(8)
    result = analyse(window(rng, 150), window(rng, 150), T)
    p99 = by_name(result)["latency_p99_ratio"]
    assert p99.result == "skipped" and "needs >= 200" in p99.detail
    assert result.result == "pass"
    # ...and 150 ms slower is still caught by p95 and Mann-Whitney at that size.
    assert analyse(window(rng, 150, extra_ms=150), window(rng, 150), T).result == "fail"


def test_a_model_that_predicts_one_class_fails_the_prediction_shift_check():
    rng = np.random.default_rng(9)
    checks = by_name(analyse(window(rng, 200, p_malignant=0.0), window(rng, 200), T))
    assert checks["prediction_shift"].result == "fail"
    assert checks["prediction_shift"].value > T.max_prediction_psi


def test_a_text_model_collapsing_onto_one_topic_fails_despite_rare_class_merging():
    rng = np.random.default_rng(10)
    collapsed = [0.0] * len(TOPIC_SHARES)
    collapsed[3] = 1.0
    checks = by_name(analyse(window(rng, 150, shares=collapsed), window(rng, 150, shares=TOPIC_SHARES), T))
    assert checks["prediction_shift"].result == "fail", checks["prediction_shift"]


def test_rare_classes_are_merged_until_every_expected_count_reaches_the_minimum():
    a = {"common": 80, "mid": 15, "rare1": 3, "rare2": 1, "rare3": 2}
    b = {"common": 78, "mid": 18, "rare1": 2, "rare2": 3}
    merged_a, merged_b, rare = merge_rare_classes(a, b, 5)
    assert rare == ["rare1", "rare2", "rare3"]
    assert merged_a == {"common": 80, "mid": 15, OTHER_CLASSES: 6}
    assert merged_b == {"common": 78, "mid": 18, OTHER_CLASSES: 5}
    # Still too small together: the merged bucket absorbs the next-rarest class.
    _, _, rare = merge_rare_classes({"common": 90, "mid": 8, "r": 2}, {"common": 90, "mid": 9, "r": 1}, 5)
    assert rare == ["mid", "r"]
    n_a, n_b = sum(a.values()), sum(b.values())
    for name in merged_a:
        pooled = merged_a[name] + merged_b[name]
        assert pooled * min(n_a, n_b) / (n_a + n_b) >= 5


def test_too_few_requests_on_either_side_is_inconclusive_for_every_check():
    rng = np.random.default_rng(11)
    for canary, baseline in ((T.min_requests - 1, 500), (500, T.min_requests - 1)):
        result = analyse(window(rng, canary, error_rate=0.5), window(rng, baseline), T)
        assert result.result == "inconclusive"
        assert {c.result for c in result.checks} == {"inconclusive"}


def test_a_bake_with_too_few_requests_is_inconclusive_never_pass():
    for n in (0, T.min_requests - 1):
        result = bake(WindowData(n, 0, [0.004] * n), T)
        assert result.result == "inconclusive"
    rng = np.random.default_rng(12)
    assert bake(window(rng, 500), T).result == "pass"
    assert bake(window(rng, 500, error_rate=0.05), T).result == "fail"


def test_nan_latencies_are_inconclusive_not_pass():
    canary = WindowData(200, 0, [math.nan] * 200, {"benign": 200})
    baseline = WindowData(400, 0, [0.004] * 400, {"benign": 400})
    checks = by_name(analyse(canary, baseline, T))
    assert checks["latency_mann_whitney"].result == "inconclusive"
    assert checks["latency_p95_ratio"].result == "inconclusive"
    assert analyse(canary, baseline, T).result == "inconclusive"


def test_a_metrics_outage_is_inconclusive():
    result = unavailable("metrics source down: connection refused")
    assert result.result == "inconclusive" and all(c.result == "inconclusive" for c in result.checks)


def test_skipped_checks_do_not_count_and_nothing_judged_is_inconclusive():
    assert combine(["pass", "skipped"]) == "pass"
    assert combine(["skipped"]) == "inconclusive"
    assert combine(["pass", "inconclusive", "fail"]) == "fail"


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
    rng = np.random.default_rng(13)
    result = analyse(WindowData(), window(rng, 100), T, stable=window(rng, 800))
    data = result.as_dict()
    json.dumps(data, allow_nan=False)
    assert set(data) == {"result", "checks", "canary", "baseline", "stable"}


def test_rate_checks_judge_the_evidence_accumulated_since_the_first_step():
    # This interval alone: 5 errors in 150 (p ~ 0.02 against 1%: a hold). Since the first step: 14 in
    # 450, significant. Latency and predictions still judge this interval only.
    step_c = WindowData(150, 5, [0.004] * 145, {"benign": 145})
    step_b = WindowData(150, 0, [0.004] * 150, {"benign": 150})
    total_c = WindowData(450, 14, [0.004] * 436, {"benign": 436})
    total_b = WindowData(450, 1, [0.004] * 449, {"benign": 449})
    alone = by_name(analyse(step_c, step_b, T))
    assert alone["error_rate"].result == "inconclusive"
    together = by_name(analyse(step_c, step_b, T, since_first=(total_c, total_b)))
    assert together["error_rate"].result == "fail" and "14/450" in together["error_rate"].detail
    assert together["latency_p95_ratio"].result == "pass"


def test_simulated_rollouts_promote_healthy_twins_and_roll_back_a_five_percent_fault():
    rng = np.random.default_rng(14)
    noisy, faulty = simulation.TrackModel(error_rate=0.01), simulation.TrackModel(error_rate=0.05)
    t = Analysis(max_error_rate=0.02)
    assert [simulation.rollout(rng, noisy, noisy, t) for _ in range(10)] == ["promoted"] * 10
    assert [simulation.rollout(rng, faulty, noisy, t) for _ in range(10)] == ["rolled_back"] * 10


def test_a_small_relative_median_shift_of_a_slow_model_is_not_a_regression():
    # A text model at ~180 ms whose batches make a +12 ms (7%) shift look significant: below 10%.
    rng = np.random.default_rng(15)
    canary, baseline = window(rng, 400, latency_ms=180, extra_ms=12), window(rng, 400, latency_ms=180)
    check = by_name(analyse(canary, baseline, T))["latency_mann_whitney"]
    assert check.result == "pass" and "10% of the baseline median" in check.detail
    slower = by_name(analyse(window(rng, 400, latency_ms=180, extra_ms=60), baseline, T))
    assert slower["latency_mann_whitney"].result == "fail"
