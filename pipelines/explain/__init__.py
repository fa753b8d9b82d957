"""SHAP explanations of the platform's models (tabular: feature attributions; text: token attributions).

    from pipelines.explain import explainer_for
    explainer = explainer_for(predictor, background=matrix)     # TabularExplainer or TextExplainer
    explainer.explain(inputs).instance(0)                       # per class, per feature or token

The evaluation report's section (`explain_evaluation`) and the server's `:explain` method
(pipelines/serving/_explain.py) both build on these. shap (3 s to import) is imported on first use.
docs/explanations.md says what the values mean and what they cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pipelines.explain.document import EXPLANATIONS_FILE
from pipelines.explain.errors import Unexplainable
from pipelines.explain.section import ExplanationSection, explain_evaluation
from pipelines.explain.tabular import TabularExplainer, TabularExplanation, background_matrix, mean_row
from pipelines.explain.text import TextExplainer, TextExplanation

if TYPE_CHECKING:
    from pipelines.artifacts import Predictor

__all__ = [
    "EXPLANATIONS_FILE",
    "ExplanationSection",
    "TabularExplainer",
    "TabularExplanation",
    "TextExplainer",
    "TextExplanation",
    "Unexplainable",
    "background_matrix",
    "explain_evaluation",
    "explainer_for",
    "mean_row",
]


def explainer_for(
    predictor: Predictor,
    *,
    background: np.ndarray | None = None,
    background_source: str = "background data",
    max_evals: int | None = None,
    seed: int = 0,
) -> TabularExplainer | TextExplainer:
    """The explainer of the predictor's kind; tabular without `background` masks with the training
    means of the artifact. Unexplainable says why a model has none."""
    if predictor.kind == "tabular":
        if background is None:
            background, background_source = mean_row(predictor), "training means (one row)"
            if background is None:
                raise Unexplainable(
                    f"{predictor.path}: no background data and no training means in the manifest"
                )
        return TabularExplainer(
            predictor, background, source=background_source, seed=seed, max_evals=max_evals
        )
    if predictor.kind == "text":
        return TextExplainer(predictor, max_evals=max_evals)
    raise Unexplainable(
        f"{predictor.path}: model kind {predictor.kind!r} has no explainer (explainable: tabular, text)"
    )
