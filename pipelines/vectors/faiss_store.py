"""The embedded vector store: the dataset's FAISS index file, loaded into this process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.vectors._query import check_query
from pipelines.vectors.errors import IndexMissing, VectorError
from pipelines.vectors.index import CHUNKS_FILE, INDEX_FILE, index_dir, read_manifest
from pipelines.vectors.records import Chunk, Hit, IndexManifest

if TYPE_CHECKING:
    import numpy as np

    from pipelines.repo.layout import Repo


class FaissStore:
    """Exact inner-product search over `index.faiss`; row i is line i of `chunks.jsonl`."""

    backend = "faiss"

    def __init__(self, manifest: IndexManifest, index: Any, chunks: list[Chunk], folder: Path) -> None:
        if index.ntotal != len(chunks) or len(chunks) != manifest.chunks or index.d != manifest.dim:
            raise VectorError(
                f"{folder}: the index holds {index.ntotal} vectors of {index.d} dims, chunks.jsonl "
                f"{len(chunks)} chunks, the manifest {manifest.chunks} x {manifest.dim}; rebuild it: "
                f"aip vectors build {manifest.dataset}"
            )
        self.manifest = manifest
        self.folder = folder
        self._index: Any = index
        self._chunks = chunks

    @classmethod
    def open(cls, repo: Repo, dataset: str) -> FaissStore:
        import faiss

        manifest = read_manifest(repo, dataset)  # IndexMissing naming the folder and the build command
        folder = index_dir(repo, dataset)
        for name in (INDEX_FILE, CHUNKS_FILE):
            if not (folder / name).is_file():
                raise IndexMissing(
                    f"{dataset}: {folder / name} is missing; rebuild: aip vectors build {dataset}"
                )
        chunks = [
            Chunk.from_dict(json.loads(line))
            for line in (folder / CHUNKS_FILE).read_text(encoding="utf-8").splitlines()
            if line
        ]
        return cls(manifest, faiss.read_index(str(folder / INDEX_FILE)), chunks, folder)

    def search(self, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        queries = check_query(vectors, k, self.manifest)
        if self._index is None:
            raise VectorError(f"{self.manifest.dataset}: the FAISS store is closed")
        scores, rows = self._index.search(queries, min(k, self._index.ntotal))
        return [
            [Hit(self._chunks[int(row)], float(score)) for score, row in zip(s, r, strict=True) if row >= 0]
            for s, r in zip(scores, rows, strict=True)
        ]

    def vectors(self) -> np.ndarray:
        """Every stored embedding, in chunk order (what `sync` loads into Milvus)."""
        return self._index.reconstruct_n(0, self._index.ntotal)  # type: ignore[no-any-return]

    @property
    def chunks(self) -> list[Chunk]:
        return list(self._chunks)

    def close(self) -> None:
        self._index = None
