"""Metrics (every configured name, directions, conventions) and gates (absolute and champion)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipelines.config import METRICS, Gate
from pipelines.evaluate import check_gate, check_gates, check_pass_rate
from pipelines.evaluate.metrics import compute_metrics, expected_calibration_error

LABELS = ["benign", "malignant"]


def _noisy(y: np.ndarray, k: int, noise: float, seed: int) -> np.ndarray:
    """Probabilities that favour the true class, blurred by `noise`."""
    rng = np.random.default_rng(seed)
    logits = np.eye(k)[y] * 3 + rng.normal(0, noise, size=(len(y), k))
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_every_configured_metric_is_computed() -> None:
    y = np.array([0, 1, 0, 1, 1, 0])
    metrics = compute_metrics([LABELS[i] for i in y], _noisy(y, 2, 1.0, 0), LABELS)
    assert set(metrics) == set(METRICS)
    assert all(np.isfinite(v) for v in metrics.values())


@pytest.mark.parametrize("k", [2, 5])
def test_better_model_scores_better_in_every_metric_direction(k: int) -> None:
    y = np.tile(np.arange(k), 60)
    labels = [f"c{i}" for i in range(k)]
    good = compute_metrics([labels[i] for i in y], _noisy(y, k, 1.0, 1), labels)
    bad = compute_metrics([labels[i] for i in y], _noisy(y, k, 6.0, 1), labels)
    for name, higher in METRICS.items():
        assert (good[name] > bad[name]) if higher else (good[name] < bad[name]), name


def test_perfect_confident_predictions() -> None:
    y = ["benign", "malignant", "malignant"]
    m = compute_metrics(y, np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]), LABELS)
    assert m["accuracy"] == m["macro_f1"] == m["roc_auc"] == 1.0
    assert m["brier"] == 0.0 and m["ece"] == 0.0 and m["log_loss"] < 1e-9


def test_binary_roc_auc_treats_the_second_label_as_positive() -> None:
    y = ["benign", "benign", "malignant", "malignant"]
    proba_malignant = np.array([0.1, 0.4, 0.35, 0.8])
    m = compute_metrics(y, np.column_stack([1 - proba_malignant, proba_malignant]), LABELS)
    assert m["roc_auc"] == pytest.approx(0.75)


def test_multiclass_roc_auc_skips_classes_absent_from_the_split() -> None:
    labels = ["a", "b", "c"]
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.8, 0.1]])
    m = compute_metrics(["a", "b", "a", "b"], proba, labels)
    assert m["roc_auc"] == 1.0


def test_multiclass_brier_is_the_mean_over_classes() -> None:
    proba = np.array([[0.5, 0.25, 0.25]])
    m = compute_metrics(["a"], proba, ["a", "b", "c"])
    assert m["brier"] == pytest.approx((0.25 + 0.0625 + 0.0625) / 3)


def test_ece_by_hand() -> None:
    # confidence 0.9 twice (one right) and 0.6 once (right): |0.5-0.9|*2/3 + |1-0.6|*1/3
    proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6]])
    assert expected_calibration_error(np.array([0, 1, 1]), proba) == pytest.approx(0.4)


def test_test_labels_unknown_to_the_model_are_an_error() -> None:
    with pytest.raises(ValueError, match="unknown to the model: other"):
        compute_metrics(["benign", "other"], np.array([[0.5, 0.5], [0.5, 0.5]]), LABELS)


def test_min_gate_fails_below_and_names_value_and_threshold() -> None:
    result = check_gate(Gate(metric="macro_f1", min=0.55), {"macro_f1": 0.512}, None)
    assert not result.passed
    assert result.message == "macro_f1 = 0.512 < min 0.550"
    assert (result.gate, result.value, result.threshold) == ("macro_f1 min", 0.512, 0.55)
    assert check_gate(Gate(metric="macro_f1", min=0.55), {"macro_f1": 0.55}, None).passed


def test_max_gate_on_a_lower_is_better_metric() -> None:
    assert check_gate(Gate(metric="ece", max=0.1), {"ece": 0.05}, None).passed
    failed = check_gate(Gate(metric="ece", max=0.1), {"ece": 0.2}, None)
    assert not failed.passed and failed.message == "ece = 0.200 > max 0.100"


def test_regression_gate_passes_without_a_champion() -> None:
    result = check_gate(Gate(metric="macro_f1", max_regression=0.03), {"macro_f1": 0.1}, None)
    assert result.passed and "no champion yet" in result.message and math.isnan(result.threshold)


def test_regression_gate_on_higher_is_better_metric() -> None:
    gate = Gate(metric="macro_f1", max_regression=0.03)
    assert check_gate(gate, {"macro_f1": 0.58}, {"macro_f1": 0.60}).passed  # within 0.03
    assert check_gate(gate, {"macro_f1": 0.70}, {"macro_f1": 0.60}).passed  # better
    worse = check_gate(gate, {"macro_f1": 0.56}, {"macro_f1": 0.60})
    assert not worse.passed and worse.threshold == pytest.approx(0.57)
    assert worse.message == "macro_f1 = 0.560 < champion 0.600 - 0.03 = 0.570"


def test_regression_gate_on_lower_is_better_metric_is_mirrored() -> None:
    gate = Gate(metric="log_loss", max_regression=0.05)
    assert check_gate(gate, {"log_loss": 0.30}, {"log_loss": 0.40}).passed  # lower loss: better
    assert check_gate(gate, {"log_loss": 0.44}, {"log_loss": 0.40}).passed
    worse = check_gate(gate, {"log_loss": 0.50}, {"log_loss": 0.40})
    assert not worse.passed and worse.threshold == pytest.approx(0.45)


def test_a_metric_that_could_not_be_computed_fails_its_gate() -> None:
    result = check_gate(Gate(metric="roc_auc", min=0.9), {"roc_auc": math.nan}, None)
    assert not result.passed and "could not be computed" in result.message


def test_gates_are_checked_in_order() -> None:
    gates = [Gate(metric="accuracy", min=0.9), Gate(metric="accuracy", max_regression=0.01)]
    results = check_gates(gates, {"accuracy": 0.95}, {"accuracy": 0.97})
    assert [r.passed for r in results] == [True, False]


def test_pass_rate_gate() -> None:
    assert check_pass_rate("invariance", 9, 10, 0.9).passed
    failed = check_pass_rate("invariance", 8, 10, 0.9)
    assert not failed.passed and failed.message == "invariance pass rate = 0.800 (8/10) < min 0.900"
