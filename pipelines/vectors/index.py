"""The `index` stage of a documents dataset: embed its chunks into an exact FAISS index.

Reads `datasets/<name>/data/raw.csv` (the validated chunks the ingest stage wrote) and writes
`datasets/<name>/data/index/`, a DVC output pushed to the environment's remote with the data:

    index.faiss     faiss.IndexFlatIP over the L2-normalised embeddings: exact inner product = cosine
                    (a few hundred chunks; an approximate index would only lose recall)
    chunks.jsonl    the chunks in index order (row i of the index is line i)
    manifest.json   dataset, embedding model, dim, chunk count, version (`index_version`: a hash of
                    raw.csv's md5, which is the dataset's data version in dvc.lock, the embedding
                    model and INDEX_FORMAT)

The folder is written beside the old one and swapped in, so a crash never leaves half an index.

    aip vectors build platform-docs          # what the DVC stage runs
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from pipelines.repo.layout import Repo
from pipelines.vectors.embedder import embedder
from pipelines.vectors.errors import IndexMissing, VectorError
from pipelines.vectors.records import INDEX_FORMAT, Chunk, IndexManifest

INDEX_FILE = "index.faiss"
CHUNKS_FILE = "chunks.jsonl"
MANIFEST_FILE = "manifest.json"
PROGRESS_EVERY = 128  # chunks between progress lines while embedding


def index_version(chunks_md5: str, embedding_model: str) -> str:
    """The index's version: md5 of the chunks' md5 (the data version), the model id and INDEX_FORMAT.

    Computable from the commit alone (dvc.lock and dataset.yaml), so a Milvus server with no local
    index finds its collection, and independent of the float bits a CPU produced."""
    return hashlib.md5(f"{chunks_md5}:{embedding_model}:{INDEX_FORMAT}".encode()).hexdigest()


def index_dir(repo: Repo, dataset: str) -> Path:
    """`datasets/<name>/data/index/`: the index stage's output (git-ignored, in the DVC remote)."""
    return repo.dataset_dir(dataset) / "data" / "index"


def chunks_csv(repo: Repo, dataset: str) -> Path:
    """The ingest stage's output: the chunks, validated by the suite before the index is built."""
    return repo.dataset_dir(dataset) / "data" / "raw.csv"


def build_index(repo: Repo, dataset: str, *, progress: Callable[[str], None] | None = None) -> IndexManifest:
    """Embed the dataset's chunks with dataset.yaml's `index.embedding_model`; write data/index/."""
    import faiss

    say = progress or (lambda _message: None)
    cfg = repo.dataset(dataset)
    if cfg.kind != "documents":
        raise VectorError(f"{dataset}: only a documents dataset is indexed (this one is {cfg.kind})")
    source = chunks_csv(repo, dataset)
    if not source.is_file():
        raise IndexMissing(
            f"{dataset}: {source} does not exist; run `aip data ingest {dataset}` "
            f"(or `aip data prepare {dataset}`)"
        )
    raw = source.read_bytes()
    chunks = read_chunks_csv(source)
    if not chunks:
        raise VectorError(f"{dataset}: {source} holds no chunks")
    model = embedder(cfg.embedding_model)
    say(f"embedding {len(chunks)} chunks with {model.id} ({model.dim} dims)")
    start = time.perf_counter()
    parts = []
    for first in range(0, len(chunks), PROGRESS_EVERY):
        batch = chunks[first : first + PROGRESS_EVERY]
        parts.append(model.encode([c.embedding_text() for c in batch]))
        say(f"  {first + len(batch)}/{len(chunks)} chunks ({time.perf_counter() - start:.1f}s)")
    import numpy as np

    vectors = np.vstack(parts)
    index = faiss.IndexFlatIP(model.dim)
    index.add(vectors)
    manifest = IndexManifest(
        dataset=dataset,
        embedding_model=model.id,
        dim=model.dim,
        chunks=len(chunks),
        version=index_version(hashlib.md5(raw).hexdigest(), model.id),
    )
    final = index_dir(repo, dataset)
    staging = final.with_name(final.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    faiss.write_index(index, str(staging / INDEX_FILE))
    (staging / CHUNKS_FILE).write_text("".join(c.to_json() + "\n" for c in chunks), encoding="utf-8")
    (staging / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    staging.replace(final)
    say(f"wrote {final} (version {manifest.version})")
    return manifest


def read_chunks_csv(path: Path) -> list[Chunk]:
    """The ingest stage's CSV as chunks (every column a string; nothing read as missing)."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, pd.errors.ParserError) as exc:
        raise VectorError(f"cannot read {path}: {exc}") from exc
    missing = [c for c in ("id", "path", "heading", "text", "licence") if c not in frame.columns]
    if missing:
        raise VectorError(f"{path} has no column(s) {missing}; it has {list(frame.columns)}")
    return [Chunk.from_dict(row) for row in frame.to_dict(orient="records")]


def read_manifest(repo: Repo, dataset: str) -> IndexManifest:
    """The built index's manifest; IndexMissing naming the path and the command that builds it."""
    path = index_dir(repo, dataset) / MANIFEST_FILE
    if not path.is_file():
        raise IndexMissing(
            f"{dataset}: no index at {path.parent}; build it with `aip vectors build {dataset}` "
            f"(or `aip data prepare {dataset}`, which also pulls it from the environment's DVC remote)"
        )
    try:
        return IndexManifest.read(path)
    except (ValueError, KeyError) as exc:
        raise VectorError(
            f"{dataset}: {path} is not an index manifest ({exc}); rebuild: aip vectors build {dataset}"
        ) from exc
