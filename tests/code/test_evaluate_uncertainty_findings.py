"""Bootstrap intervals, change in words, headline findings and the majority baseline of a report."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from pipelines.config import METRICS
from pipelines.evaluate.bootstrap import POSITIVE_RECALL, Interval, bootstrap, resampled_metrics
from pipelines.evaluate.findings import baseline_proba, findings
from pipelines.evaluate.metrics import compute_metrics
from pipelines.evaluate.report import change_in_words


def _proba(y: np.ndarray, k: int, signal: float, seed: int, decimals: int | None = 1) -> np.ndarray:
    """Probabilities favouring the true class by `signal`; rounding makes tied scores (as real models do)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), k)) + signal * np.eye(k)[y]
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    if decimals is not None:
        p = np.round(p, decimals) + 1e-3
        p /= p.sum(axis=1, keepdims=True)
    return p


@pytest.mark.parametrize(("k", "n", "absent"), [(2, 113, None), (5, 80, 4), (12, 150, None)])
def test_vectorised_resample_metrics_equal_compute_metrics(k: int, n: int, absent: int | None) -> None:
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, n)
    if absent is not None:  # a class the model knows but the split lacks
        y[y == absent] = 0
    proba = _proba(y, k, 1.5, k)
    labels = [f"c{i}" for i in range(k)]
    rows = np.vstack([np.arange(n), rng.integers(0, n, n), rng.integers(0, n, n)])
    got = resampled_metrics(y, proba, rows)
    for b in range(len(rows)):
        want = compute_metrics([labels[i] for i in y[rows[b]]], proba[rows[b]], labels)
        for name in METRICS:
            assert got[name][b] == pytest.approx(want[name], abs=1e-12, nan_ok=True), (name, b)


def test_intervals_bracket_the_point_estimate_are_seeded_and_fast() -> None:
    y = np.tile([0, 1, 1], 40)
    proba = _proba(y, 2, 2.0, 0)
    start = time.perf_counter()
    first = bootstrap(y, proba)
    assert time.perf_counter() - start < 5  # 1000 resamples: report generation stays quick
    point = compute_metrics([str(v) for v in y], proba, ["0", "1"])
    for name in METRICS:
        interval = first.candidate[name]
        assert interval.low < interval.high, name  # the split is noisy: a real width
        assert interval.contains(point[name]), (name, point[name], interval)
    assert first == bootstrap(y, proba)  # same seed, same intervals
    assert first != bootstrap(y, proba, seed=1)
    recall = float(np.mean(proba.argmax(1)[y == 1] == 1))
    assert first.candidate[POSITIVE_RECALL].contains(recall)


def test_change_interval_is_paired_zero_against_itself_and_excludes_zero_for_a_clear_gain() -> None:
    y = np.tile(np.arange(3), 50)
    weak, strong = _proba(y, 3, 0.5, 1, None), _proba(y, 3, 4.0, 2, None)
    same = bootstrap(y, weak, champion_y=y, champion_proba=weak)
    assert same.change is not None and same.change["accuracy"] == Interval(0.0, 0.0)
    gain = bootstrap(y, strong, champion_y=y, champion_proba=weak)
    assert gain.change is not None
    assert gain.change["accuracy"].low > 0 and gain.change["log_loss"].high < 0
    assert bootstrap(y, strong).change is None


def test_the_change_is_said_in_words_from_the_metrics_direction() -> None:
    # log_loss: lower is better, so a positive difference is worse (the report once showed "+0.0196 ▼")
    assert change_in_words(0.1196, 0.1, "log_loss") == "+0.0196 worse"
    assert change_in_words(0.08, 0.1, "log_loss") == "-0.0200 better"
    assert change_in_words(0.95, 0.93, "accuracy") == "+0.0200 better"
    assert change_in_words(0.93, 0.93, "accuracy") == "+0.0000 same"
    noisy = change_in_words(0.931, 0.932, "roc_auc", Interval(-0.012, 0.009))
    assert noisy == "-0.0010 worse (within noise)"
    assert change_in_words(0.95, 0.93, "accuracy", Interval(0.01, 0.03)) == "+0.0200 better"
    assert change_in_words(0.9, math.nan, "accuracy") == "—"


def test_low_recall_classes_are_named_with_counts_and_what_they_were_taken_for() -> None:
    labels = ["food", "movies", "trivia"]
    y = np.array([0] * 10 + [1] * 9 + [2] * 10)
    pred = np.concatenate([np.zeros(10), [1] + [2] * 5 + [0] * 3, np.full(10, 2)]).astype(int)
    proba = np.eye(3)[pred] * 0.8 + 0.2 / 3
    lines = findings(y, proba, labels)
    low = [line for line in lines if line.startswith("Recall below")]
    assert low == ["Recall below 0.5: movies recall 0.11 (1/9, mostly predicted trivia (5))."]
    assert not any(line.startswith("Sensitivity") for line in lines)  # multiclass: no positive class


def test_binary_tasks_lead_with_the_positive_class_sensitivity_and_missed_cases() -> None:
    labels = ["benign", "malignant"]
    y = np.array([0] * 71 + [1] * 42)
    pred = y.copy()
    pred[71:74] = 0  # three malignant tumours missed
    pred[0] = 1  # one benign called malignant
    proba = np.eye(2)[pred] * 0.9 + 0.05
    boot = bootstrap(y, proba)
    first = findings(y, proba, labels, boot)[0]
    assert first.startswith("Sensitivity for malignant (the positive class): 0.9286 (39/42), 95% CI [")
    assert "3 malignant cases missed (predicted benign)" in first
    assert "Specificity 0.9859 (70/71): 1 benign predicted malignant" in first


def test_the_baseline_is_the_majority_class_share() -> None:
    labels = ["a", "b", "trivia"]
    y = np.array([0] * 5 + [1] * 8 + [2] * 16)
    base = compute_metrics([labels[i] for i in y], baseline_proba(y, 3), labels)
    assert base["accuracy"] == pytest.approx(16 / 29)
    assert base["roc_auc"] == pytest.approx(0.5)
    shares = np.array([5, 8, 16]) / 29
    assert base["log_loss"] == pytest.approx(-np.sum(shares * np.log(shares)))
    text = findings(y, np.eye(3)[y] * 0.7 + 0.1, labels)[-1]
    assert text.startswith(
        "Baseline: always answering trivia (the most frequent test class) scores accuracy 0.5517"
    )
