"""Behavioural cases (perturbation parsing, the three kinds) and the evaluation entry's outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from pipelines.artifacts import load, save_tabular
from pipelines.artifacts.networks import TabularNet
from pipelines.config import BehaviouralCase, DatasetConfig, TabularClassifierConfig
from pipelines.evaluate import evaluate_model, run_behavioural
from pipelines.evaluate.behavioural import apply_change, pass_counts, resolve_tabular_input

FEATURES = ["radius", "texture"]
DATASET = DatasetConfig(name="toy", description="t", license="MIT", source="t", kind="tabular")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("+20%", 12.0),
        ("-10%", 9.0),
        ("+1.5", 11.5),
        ("-0.3", 9.7),
        (" + 50 % ", 15.0),
        (3, 3.0),
        (2.5, 2.5),
        ("+.5", 10.5),
    ],
)
def test_perturbations_parse_as_relative_additive_or_absolute(change: Any, expected: float) -> None:
    assert apply_change(10.0, change) == pytest.approx(expected)


@pytest.mark.parametrize("change", ["20%", "*2", "abc", "+", True, None, [1]])
def test_unreadable_perturbations_are_errors(change: Any) -> None:
    with pytest.raises(ValueError, match="radius"):
        apply_change(10.0, change, "radius")


def _test_split() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "radius": [10.0, 12.0, 14.0, 20.0, 22.0, 30.0],
            "texture": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "label": ["benign"] * 3 + ["malignant"] * 3,
        }
    )


def test_tabular_input_starts_from_the_class_median_plus_overrides() -> None:
    row = resolve_tabular_input(
        {"base": "median:malignant", "texture": 0.5}, FEATURES, _test_split(), "label"
    )
    assert row == {"radius": 22.0, "texture": 0.5}
    row = resolve_tabular_input({"base": "median", "radius": "+10%"}, FEATURES, _test_split(), "label")
    assert row == {"radius": pytest.approx(18.7), "texture": 3.5}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"base": "median:unknown"}, "no rows labelled 'unknown'"),
        ({"base": "mean"}, "median:<label>"),
        ({"base": "median", "colour": 1.0}, "unknown feature 'colour'"),
        ({"radius": 1.0}, "lacks feature.*texture"),
        ({"radius": "+10%", "texture": 1.0}, "needs a base row"),
    ],
)
def test_bad_tabular_inputs_say_what_is_wrong(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_tabular_input(spec, FEATURES, _test_split(), "label")


class _RadiusModel:
    """P(malignant) = sigmoid(radius - 16): a transparent stand-in for a Predictor."""

    kind = "tabular"
    labels = ["benign", "malignant"]
    feature_names = FEATURES

    def predict_proba(self, rows: list[dict[str, float]]) -> np.ndarray:
        p = 1 / (1 + np.exp(-(np.array([r["radius"] for r in rows]) - 16)))
        return np.column_stack([1 - p, p])


def _case(**kw: Any) -> BehaviouralCase:
    return BehaviouralCase.model_validate({"name": kw.pop("name", "case"), **kw})


def test_the_three_kinds_pass_and_fail_as_declared() -> None:
    cases = [
        _case(kind="minimum_functionality", input={"base": "median:benign"}, label="benign"),
        _case(kind="minimum_functionality", input={"base": "median:benign"}, label="malignant"),
        _case(kind="invariance", input={"base": "median:benign"}, perturbed={"texture": "+50%"}),
        _case(kind="invariance", input={"base": "median:benign"}, perturbed={"radius": 25}),
        _case(
            kind="directional",
            input={"base": "median"},
            perturbed={"radius": "+1"},
            label="malignant",
            direction="increase",
        ),
        _case(
            kind="directional",
            input={"base": "median"},
            perturbed={"radius": "+1"},
            label="malignant",
            direction="decrease",
        ),
        _case(
            kind="directional",
            input={"base": "median"},
            perturbed={"texture": "+1"},
            label="malignant",
            direction="increase",
        ),
    ]
    results = run_behavioural(cases, _RadiusModel(), _test_split(), DATASET)  # type: ignore[arg-type]
    assert [r.passed for r in results] == [True, False, True, False, True, False, False]
    assert "expected malignant" in results[1].detail
    assert (
        results[4].before is not None
        and results[4].after is not None
        and results[4].after > results[4].before
    )
    assert pass_counts(results) == {
        "minimum_functionality": (1, 2),
        "invariance": (1, 2),
        "directional": (1, 3),
    }


def test_a_malformed_case_fails_with_its_reason_instead_of_crashing() -> None:
    cases = [
        _case(kind="minimum_functionality", input={"base": "median"}, label="no-such-label"),
        _case(kind="invariance", input={"base": "median"}, perturbed={"colour": "+1"}),
    ]
    results = run_behavioural(cases, _RadiusModel(), _test_split(), DATASET)  # type: ignore[arg-type]
    assert [r.passed for r in results] == [False, False]
    assert "unknown label 'no-such-label'" in results[0].detail
    assert "unknown feature 'colour'" in results[1].detail


def _artifact(folder: Path, sign: float) -> Path:
    """A hand-set model: logit(malignant) = sign * (radius - 16) / 4."""
    net = TabularNet(mean=[16.0, 0.0], std=[4.0, 1.0], hidden_sizes=[], n_classes=2, dropout=0.0)
    with torch.no_grad():
        net.mlp[0].weight.copy_(torch.tensor([[0.0, 0.0], [sign, 0.0]]))
        net.mlp[0].bias.zero_()
    return save_tabular(
        folder, net, ["benign", "malignant"], feature_names=FEATURES, hidden_sizes=[], dropout=0.0
    )


def _config(min_accuracy: float) -> TabularClassifierConfig:
    return TabularClassifierConfig.model_validate(
        {
            "name": "toy-model",
            "description": "t",
            "owner": "@me",
            "dataset": "toy",
            "task": "tabular-classification",
            "evaluation": {
                "primary_metric": "roc_auc",
                "gates": [
                    {"metric": "accuracy", "min": min_accuracy},
                    {"metric": "roc_auc", "max_regression": 0.01},
                ],
                "behavioural": {
                    "cases": [
                        {
                            "name": "big is malignant",
                            "kind": "minimum_functionality",
                            "input": {"base": "median:malignant"},
                            "label": "malignant",
                        },
                        {
                            "name": "radius raises risk",
                            "kind": "directional",
                            "input": {"base": "median"},
                            "perturbed": {"radius": "+20%"},
                            "label": "malignant",
                            "direction": "increase",
                        },
                    ]
                },
            },
        }
    )


def test_evaluation_writes_reports_and_plots_and_passes_a_good_model(tmp_path: Path) -> None:
    good = load(_artifact(tmp_path / "good", 1.0))
    result = evaluate_model(_config(0.9), DATASET, good, _test_split(), tmp_path / "eval")
    assert result.passed, result.summary()
    assert result.metrics["accuracy"] == 1.0 and result.champion_metrics is None
    assert {p.name for p in result.plots} == {
        "confusion_matrix.png",
        "per_class.png",
        "roc_curve.png",
        "calibration.png",
    }
    assert all(p.stat().st_size > 1000 for p in result.plots)
    md, page = result.report_md.read_text(), result.report_html.read_text()
    assert "| accuracy | higher | 1.0000 |" in md and "no champion yet" in md
    assert page.count("data:image/png;base64,") == 4 and "<table>" in page
    assert "radius raises risk" in md and "radius raises risk" in page


def test_a_broken_model_fails_gates_and_the_summary_leads_with_them(tmp_path: Path) -> None:
    broken = load(_artifact(tmp_path / "broken", -1.0))  # predicts the opposite class
    champion = load(_artifact(tmp_path / "champion", 1.0))
    result = evaluate_model(
        _config(0.9),
        DATASET,
        broken,
        _test_split(),
        tmp_path / "eval",
        champion=champion,
        champion_label="prod v1",
    )
    assert not result.passed
    failing = {g.gate for g in result.gates if not g.passed}
    assert failing == {
        "accuracy min",
        "roc_auc max_regression",
        "behavioural minimum_functionality",
        "behavioural directional",
    }
    assert result.champion_metrics is not None and result.champion_metrics["accuracy"] == 1.0
    summary = result.summary().splitlines()
    assert summary[0].startswith("evaluation FAILED: 0/4 gates passed")
    assert summary[1] == "  FAIL  accuracy min: accuracy = 0.000 < min 0.900"
    assert "champion (prod v1)" in result.report_md.read_text()


def _metric_row(md: str, metric: str) -> list[str]:
    line = next(row for row in md.splitlines() if row.startswith(f"| {metric} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_report_names_the_run_and_shows_intervals_baseline_and_change_in_words(tmp_path: Path) -> None:
    candidate = load(_artifact(tmp_path / "soft", 0.5))  # same answers as the champion, less sure
    champion = load(_artifact(tmp_path / "champion", 1.0))
    about = {"candidate": "v3", "training run": "0123abcd", "fingerprint": "f00dfeed"}
    result = evaluate_model(
        _config(0.9),
        DATASET,
        candidate,
        _test_split(),
        tmp_path / "eval",
        champion=champion,
        champion_label="v2 (@local)",
        about=about,
    )
    md, page = result.report_md.read_text(), result.report_html.read_text()
    # header: who was evaluated, not a temporary folder
    assert "- training run: 0123abcd" in md and "- fingerprint: f00dfeed" in md and "- evaluated: " in md
    assert str(tmp_path) not in md and str(tmp_path) not in page
    header = next(r for r in md.splitlines() if r.startswith("| metric |"))
    assert header == (
        "| metric | better | candidate | 95% CI | majority baseline | champion (v2 (@local)) | change "
        "| change 95% CI |"
    )
    accuracy = _metric_row(md, "accuracy")
    assert accuracy[4] == "0.5000"  # the baseline: always the most frequent class of a 3/3 split
    assert accuracy[6] == "+0.0000 same"
    log_loss = _metric_row(md, "log_loss")
    assert float(log_loss[2]) > float(log_loss[5]) and log_loss[6].endswith("worse")  # lower is better
    low, high = (float(x) for x in log_loss[3].strip("[]").split(","))
    assert low <= float(log_loss[2]) <= high
    # headlines: the positive class's sensitivity, and the baseline
    assert "## Headlines" in md and "Sensitivity for malignant (the positive class): 1.0000 (3/3)" in md
    assert result.findings[-1].startswith("Baseline: always answering benign")
    # two plots per row in the HTML
    assert 'class="plots"' in page and "grid-template-columns:repeat(2" in page
    assert page.count("data:image/png;base64,") == 4
    # the PR comment still reads the champion column as numbers
    from pipelines.gitops.comment import _report_champion

    label, values = _report_champion(result.report_md)
    assert label == "v2 (@local)" and values["accuracy"] == 1.0
