"""The vector layer's errors: each names the index, the model or the store involved and what to run."""

from __future__ import annotations

from pipelines.errors import AipError


class VectorError(AipError):
    """Bad input to the vector layer (an unknown embedding model or backend, a dataset of another kind)."""


class IndexMissing(VectorError):
    """The index (or its Milvus collection) is not there; the message names it and the command that
    builds it."""


class IndexMismatch(VectorError):
    """The index was built with another embedding model than the caller asks for: its vectors and the
    query's live in different spaces, so every score would be meaningless."""


class VectorStoreUnavailable(VectorError):
    """The vector store does not answer (a Milvus server down, a milvus-lite file that cannot be
    opened); the message names the URI."""
