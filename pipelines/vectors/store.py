"""The vector store interface, and `open_store`, the one way to get one.

Both backends search the same built index (datasets/<name>/data/index/) and return the same shape: per
query vector, up to k `Hit`s, best first, the score being the cosine similarity.

- `faiss` (the embedded default): the index file itself, loaded into this process. Exact search.
- `milvus`: a Milvus collection that `aip vectors sync` loaded from the index (exact FLAT index, inner
  product): milvus-lite when the URI is a local file path (default `<state_dir>/milvus.db`), a Milvus
  server when it is http(s):// (platform.yaml's `milvus_uri`; the token, if any, in $AIP_MILVUS_TOKEN).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

from pipelines.vectors.errors import VectorError
from pipelines.vectors.records import Hit, IndexManifest

if TYPE_CHECKING:
    import numpy as np

    from pipelines.repo.layout import Repo

Backend = Literal["faiss", "milvus"]
BACKENDS: tuple[Backend, ...] = ("faiss", "milvus")


class VectorStore(Protocol):
    """An opened index of one documents dataset."""

    backend: str
    """`faiss` or `milvus` (a label on the retrieval metrics)."""
    manifest: IndexManifest

    def search(self, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        """For each row of `vectors` (n, dim), its k nearest chunks, best first (fewer if the index is
        smaller)."""
        ...

    def close(self) -> None:
        """Release the store (a Milvus connection); searching afterwards is an error."""
        ...


def open_store(repo: Repo, dataset: str, backend: str = "faiss", uri: str | None = None) -> VectorStore:
    """The dataset's index in `backend`; `uri` only for milvus (None: `<state_dir>/milvus.db`)."""
    if backend == "faiss":
        from pipelines.vectors.faiss_store import FaissStore

        return FaissStore.open(repo, dataset)
    if backend == "milvus":
        from pipelines.vectors.milvus_store import MilvusStore

        return MilvusStore.open(repo, dataset, uri)
    raise VectorError(f"unknown vector store backend '{backend}' (allowed: {', '.join(BACKENDS)})")
