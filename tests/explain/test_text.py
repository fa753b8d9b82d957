"""Token attributions of the text model: one value per token and class, adding up like SHAP values."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.explain import TextExplainer, Unexplainable


@pytest.mark.slow
@pytest.mark.integration
def test_token_attributions_add_up_to_the_probability_minus_the_masked_one(text_predictor):
    result = TextExplainer(text_predictor, max_evals=32).explain(["who wrote the lord of the rings"])
    tokens, values = result.tokens[0], result.values[0]
    assert "".join(tokens).strip() == "who wrote the lord of the rings"
    assert values.shape == (len(tokens), len(text_predictor.labels))
    np.testing.assert_allclose(result.expected[0] + values.sum(axis=0), result.proba[0], atol=1e-4)
    answer = result.instance(0)
    assert answer["tokens"] == tokens and set(answer["attributions"]) == set(text_predictor.labels)


def test_an_empty_text_is_unexplainable(text_predictor):
    with pytest.raises(Unexplainable, match="empty"):
        TextExplainer(text_predictor).explain(["   "])
