"""Token attributions of a text model: shap's Partition explainer over its Text masker.

    result = TextExplainer(predictor, max_evals=32).explain(["who wrote the hobbit"])
    result.tokens[0], result.values[0][:, c]   # each token's contribution to P(class c)

The masker hides tokens with the tokenizer's own mask token ([MASK] for MiniLM), in a hierarchy of
token groups, so `max_evals` model calls per text bound the cost whatever its length (short texts
need fewer). Owen values add up like SHAP values: a text's attributions sum to its probability minus
the probability of the fully masked text. Deterministic: no sampling.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.explain._shap import shap
from pipelines.explain.errors import Unexplainable

if TYPE_CHECKING:
    from pipelines.artifacts import Predictor

__all__ = ["DEFAULT_TEXT_EVALS", "TextExplainer", "TextExplanation"]

DEFAULT_TEXT_EVALS = 32  # model calls per text: pairs of tokens of a 10-token sentence resolved;
# 64-200 resolve single tokens at 2-6x the cost (docs/explanations.md)
_BATCH = 64  # masked texts per forward pass
METHOD = "shap.PartitionExplainer (Text masker), output: class probabilities"


@dataclass(frozen=True)
class TextExplanation:
    labels: list[str]
    texts: list[str]
    tokens: list[list[str]]
    """Per text: its tokens as substrings of the text (joined, they give it back)."""
    values: list[np.ndarray]
    """Per text: (tokens, classes), each token's contribution to each class probability."""
    expected: np.ndarray
    """(texts, classes): the probability of each fully masked text (what the values start from)."""
    proba: np.ndarray
    """(texts, classes): the model's probabilities of the texts."""
    max_evals: int
    seconds: float
    method: str = METHOD

    def instance(self, i: int) -> dict[str, Any]:
        """Text `i` as the server answers it: its tokens, and per class one value per token."""
        return {
            "label": self.labels[int(self.proba[i].argmax())],
            "probabilities": self.proba[i].astype(float).tolist(),
            "expected_value": {c: float(self.expected[i, k]) for k, c in enumerate(self.labels)},
            "tokens": self.tokens[i],
            "attributions": {
                c: self.values[i][:, k].astype(float).tolist() for k, c in enumerate(self.labels)
            },
        }


class TextExplainer:
    """Explains texts of a text Predictor; holds no per-call state (safe to share across threads)."""

    def __init__(self, predictor: Predictor, *, max_evals: int | None = None) -> None:
        if predictor.kind != "text" or predictor.tokenizer is None:
            raise Unexplainable(
                f"{predictor.path}: a text explainer needs a text model with its tokenizer "
                f"(kind {predictor.kind!r}, tokenizer {'present' if predictor.tokenizer else 'missing'})"
            )
        self.predictor = predictor
        self.labels = predictor.labels
        self.max_evals = max_evals or DEFAULT_TEXT_EVALS

    def _proba(self, texts: Any) -> np.ndarray:
        return self.predictor.predict_proba([str(t) for t in texts])

    def explain(self, texts: Sequence[str]) -> TextExplanation:
        lib = shap()
        started = time.perf_counter()
        texts = [str(t) for t in texts]
        empty = [i for i, t in enumerate(texts) if not t.strip()]
        if empty:
            raise Unexplainable(f"text {empty[0]} is empty: there is no token to attribute")
        masker = lib.maskers.Text(self.predictor.tokenizer)
        explainer = lib.explainers.Partition(self._proba, masker, output_names=self.labels)
        result = explainer(texts, max_evals=self.max_evals, batch_size=_BATCH, silent=True)
        tokens = [[str(t) for t in row] for row in result.data]
        values = [
            np.asarray(v, dtype=np.float64).reshape(len(tok), -1)
            for v, tok in zip(result.values, tokens, strict=True)
        ]
        expected = np.asarray([np.asarray(b, dtype=np.float64) for b in result.base_values]).reshape(
            len(texts), -1
        )
        return TextExplanation(
            labels=self.labels,
            texts=texts,
            tokens=tokens,
            values=values,
            expected=expected,
            proba=self._proba(texts),
            max_evals=self.max_evals,
            seconds=time.perf_counter() - started,
        )
