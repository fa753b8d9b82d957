"""Behavioural tests of the trained tumour classifier: the model.yaml cases, and the same ideas
checked over every tumour of the test split."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.evaluate import run_behavioural
from pipelines.evaluate.behavioural import pass_counts
from tests.support.registry import TrainedTumorModel

pytestmark = pytest.mark.slow


def test_model_yaml_cases_meet_their_pass_rates(tumor_model: TrainedTumorModel) -> None:
    behavioural = tumor_model.config.evaluation.behavioural
    results = run_behavioural(behavioural.cases, tumor_model.predictor, tumor_model.test, tumor_model.dataset)
    failures = [f"{r.name}: {r.detail}" for r in results if not r.passed]
    for kind, (passed, total) in pass_counts(results).items():
        assert passed / total >= behavioural.min_pass_rate[kind], failures


def _p_malignant(model: TrainedTumorModel, frame: object) -> np.ndarray:
    return model.predictor.predict_proba(frame)[:, model.predictor.labels.index("malignant")]


@pytest.mark.parametrize("feature", ["worst radius", "worst concave points", "worst area"])
def test_larger_worst_measurements_raise_p_malignant_for_most_tumours(
    tumor_model: TrainedTumorModel, feature: str
) -> None:
    before = _p_malignant(tumor_model, tumor_model.test)
    bigger = tumor_model.test.assign(**{feature: tumor_model.test[feature] * 1.2})
    after = _p_malignant(tumor_model, bigger)
    assert np.mean(after >= before) >= 0.9


@pytest.mark.parametrize("feature", ["mean fractal dimension", "symmetry error", "texture error"])
def test_tiny_change_of_a_weak_feature_keeps_almost_every_diagnosis(
    tumor_model: TrainedTumorModel, feature: str
) -> None:
    before = tumor_model.predictor.predict(tumor_model.test)
    nudged = tumor_model.test.assign(**{feature: tumor_model.test[feature] * 1.01})
    after = tumor_model.predictor.predict(nudged)
    assert np.mean(np.array(before) == np.array(after)) >= 0.98


def test_median_tumour_of_each_class_is_classified_as_that_class(tumor_model: TrainedTumorModel) -> None:
    test = tumor_model.test
    for label in tumor_model.predictor.labels:
        # the inputs only: the split also holds the feature store's entity key and event timestamp
        median = test.loc[test["label"] == label, tumor_model.dataset.feature_columns or []].median()
        assert tumor_model.predictor.predict([median.to_dict()]) == [label]
