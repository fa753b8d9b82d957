"""The query vectors both stores accept (shared by faiss_store and milvus_store)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.vectors.errors import VectorError
from pipelines.vectors.records import IndexManifest

if TYPE_CHECKING:
    import numpy as np


def check_query(vectors: np.ndarray, k: int, manifest: IndexManifest) -> np.ndarray:
    """Query vectors as the stores take them: float32, C-contiguous, (n, manifest.dim); k >= 1."""
    import numpy as np

    if k < 1:
        raise VectorError(f"k must be at least 1 (got {k})")
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.ndim != 2 or array.shape[1] != manifest.dim:
        raise VectorError(
            f"{manifest.dataset}: query vectors have shape {tuple(array.shape)}; the index "
            f"({manifest.embedding_model}) takes (n, {manifest.dim})"
        )
    return array
