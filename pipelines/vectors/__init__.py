"""Embeddings, vector stores and retrieval for documents datasets (docs/retrieval.md).

A documents dataset's DVC pipeline is ingest -> validate -> index; the index stage (`build_index`,
`aip vectors build`) embeds the validated chunks into an exact FAISS index under
`datasets/<name>/data/index/`, versioned with the data. `open_store` opens it as FAISS (embedded) or
as a Milvus collection (`sync` loads it there; milvus-lite locally, a server in production), and a
`Retriever` turns a question into the k closest chunks. `retrieval_metrics` scores a retriever on
labelled questions (recall@k, MRR). Heavy libraries (torch, transformers, faiss, pymilvus) are imported
inside the functions that use them.
"""

from pipelines.vectors.embedder import EMBEDDING_MODELS, Embedder, EmbeddingModel, embedder
from pipelines.vectors.errors import IndexMismatch, IndexMissing, VectorError, VectorStoreUnavailable
from pipelines.vectors.index import build_index, index_dir, index_version, read_manifest
from pipelines.vectors.metrics import first_relevant_rank, retrieval_metrics, scores_from_ranks
from pipelines.vectors.milvus_store import SyncResult, collection_name, sync
from pipelines.vectors.records import INDEX_FORMAT, Chunk, Hit, IndexManifest
from pipelines.vectors.retriever import Retriever
from pipelines.vectors.store import BACKENDS, VectorStore, open_store

__all__ = [
    "BACKENDS",
    "EMBEDDING_MODELS",
    "INDEX_FORMAT",
    "Chunk",
    "Embedder",
    "EmbeddingModel",
    "Hit",
    "IndexManifest",
    "IndexMismatch",
    "IndexMissing",
    "Retriever",
    "SyncResult",
    "VectorError",
    "VectorStore",
    "VectorStoreUnavailable",
    "build_index",
    "collection_name",
    "embedder",
    "first_relevant_rank",
    "index_dir",
    "index_version",
    "open_store",
    "read_manifest",
    "retrieval_metrics",
    "scores_from_ranks",
    "sync",
]
