"""What an index holds and returns: chunks, search hits, and the manifest that describes an index."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


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
        """What is embedded: the heading path, then the text (a short section's heading carries its topic)."""
        return f"{self.heading}\n\n{self.text}"

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
    """md5 of the chunks the index embeds (data/raw.csv): the documents dataset's data version."""

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
