"""What an index holds and returns: chunks, search hits, and the manifest that describes an index."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

INDEX_FORMAT = 2
"""What is embedded and how: bump it when `Chunk.embedding_text` or the pooling changes, so the index
version (and every prompt fingerprint on it) changes with the vectors. 2: the path's words head the text."""


@dataclass(frozen=True)
class Chunk:
    """One piece of a document, as the documents dataset's ingest cut it."""

    id: str
    """`<path>:<n>`, the n-th chunk of the file."""
    path: str
    """Repo-relative path of the file (what an answer cites)."""
    heading: str
    """Heading path inside the file, `Deploy > Canary > Analysis`."""
    text: str
    licence: str
    """SPDX id of the text's licence."""

    def embedding_text(self) -> str:
        """What is embedded: the file's path as words, the heading path, then the text. The path and
        headings carry the topic a short chunk may never name (`docs runbooks canary failed`)."""
        return f"{re.sub(r'[/_.-]+', ' ', self.path.removesuffix('.md'))}\n{self.heading}\n\n{self.text}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(**{name: str(data[name]) for name in ("id", "path", "heading", "text", "licence")})


@dataclass(frozen=True)
class Hit:
    """A chunk found for a query; `score` is the cosine similarity (higher is closer, at most 1)."""

    chunk: Chunk
    score: float


@dataclass(frozen=True)
class IndexManifest:
    """`manifest.json` of a built index: enough to refuse a mismatched query and to name its version."""

    dataset: str
    embedding_model: str
    """Id in EMBEDDING_MODELS of the model that encoded the chunks."""
    dim: int
    chunks: int
    version: str
    """`index_version(md5 of data/raw.csv, embedding_model)`: changes with the chunks (the dataset's
    data version), the embedding model and INDEX_FORMAT, never with the CPU that ran the embedding."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexManifest:
        return cls(
            dataset=str(data["dataset"]),
            embedding_model=str(data["embedding_model"]),
            dim=int(data["dim"]),
            chunks=int(data["chunks"]),
            version=str(data["version"]),
        )

    @classmethod
    def read(cls, path: Path) -> IndexManifest:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
