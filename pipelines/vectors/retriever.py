"""Retrieval: a question in, the k closest chunks out, through an embedder and a vector store."""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.vectors.embedder import Embedder
from pipelines.vectors.errors import IndexMismatch
from pipelines.vectors.records import Hit
from pipelines.vectors.store import VectorStore


class Retriever:
    """Embed queries with `embedder`, search `store`. Refuses (IndexMismatch) when the store's index was
    built with another embedding model: the scores would compare vectors from two different spaces."""

    def __init__(self, store: VectorStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def check(self) -> None:
        """IndexMismatch naming both models when the index and the embedder disagree."""
        built = self.store.manifest.embedding_model
        if built != self.embedder.id:
            raise IndexMismatch(
                f"the {self.store.manifest.dataset} index (version {self.store.manifest.version[:12]}) was "
                f"built with embedding model '{built}', but '{self.embedder.id}' was asked for; set the "
                f"prompt's retrieval.embedding_model to '{built}', or rebuild the index with "
                f"'{self.embedder.id}' (dataset.yaml index.embedding_model, then aip vectors build)"
            )

    def retrieve(self, query: str, k: int) -> list[Hit]:
        """The k chunks closest to `query`, best first."""
        return self.retrieve_many([query], k)[0]

    def retrieve_many(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        """`retrieve` for several queries in one embedding batch and one search."""
        self.check()
        if not queries:
            return []
        return self.store.search(self.embedder.encode(list(queries)), k)
