"""Global feature importances for the card, from the evaluation run's `evaluation/explanations.json`
(logged by the SHAP step of the evaluation, pipelines/explain).

The file is read defensively: per-class importances as `{label: {feature: value}}`, optionally under a
`classes`/`global`/`importances` key, or lists of `{feature, importance}` records. Anything else
leaves the section saying what was found, never a guess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pipelines.cards.card import Explanation

__all__ = ["TOP_FEATURES", "parse_explanations"]

TOP_FEATURES = 10  # per class: the card is read by people, the full ranking stays in the run
_WRAPPERS = ("classes", "per_class", "global", "global_importance", "importances", "mean_abs_shap")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _ranking(value: Any) -> list[tuple[str, float]] | None:
    """{feature: number} or [{feature|name: ..., importance|value|mean_abs_shap: number}] -> ranking."""
    pairs: list[tuple[str, float]] = []
    if isinstance(value, Mapping):
        for name, raw in value.items():
            number = _number(raw)
            if number is None:
                return None
            pairs.append((str(name), number))
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, Mapping):
                return None
            name = item.get("feature", item.get("name"))
            number = _number(item.get("importance", item.get("value", item.get("mean_abs_shap"))))
            if name is None or number is None:
                return None
            pairs.append((str(name), number))
    else:
        return None
    pairs.sort(key=lambda p: -abs(p[1]))
    return pairs[:TOP_FEATURES] if pairs else None


def parse_explanations(data: Any) -> tuple[list[Explanation], str]:
    """(per-class explanations, a note). The note says what the numbers are, or why there are none."""
    method = str(data.get("method", "SHAP")) if isinstance(data, Mapping) else "SHAP"
    body = data
    if isinstance(data, Mapping):
        for key in _WRAPPERS:
            if key in data:
                body = data[key]
                break
    single = _ranking(body)
    if single is not None:
        return [Explanation("all", single)], f"{method}: mean absolute attribution, top {TOP_FEATURES}."
    if isinstance(body, Mapping):
        found = [(str(label), _ranking(value)) for label, value in body.items()]
        explanations = [Explanation(label, ranking) for label, ranking in found if ranking is not None]
        if explanations:
            note = f"{method}: mean absolute attribution per class, top {TOP_FEATURES} features each."
            return explanations, note
    return [], "evaluation/explanations.json is logged but not in a shape the card reads (see the run)."
