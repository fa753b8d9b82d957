"""Milvus (milvus-lite, the same engine as a server) holds the built index and answers as FAISS does."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pipelines.repo.layout import Repo
from pipelines.vectors import (
    IndexMissing,
    Retriever,
    VectorStoreUnavailable,
    collection_name,
    open_store,
    read_manifest,
    sync,
)
from tests.vectors.conftest import DATASET

pytestmark = pytest.mark.slow

QUERIES = [
    "why did my canary roll back?",
    "the watchdog alert fired",
    "how do I add a model?",
    "drift detected on the topic classifier, what now?",
    "GPU runner is offline",
    "serving latency budget burn",
]


def test_sync_loads_the_index_once_and_milvus_returns_the_same_top_k_as_faiss(
    docs_repo: Repo, minilm, tmp_path: Path
):
    uri = str(tmp_path / "milvus.db")
    first = sync(docs_repo, DATASET, uri)
    again = sync(docs_repo, DATASET, uri)
    manifest = read_manifest(docs_repo, DATASET)
    assert (first.created, first.rows) == (True, manifest.chunks)
    assert (again.created, again.collection) == (False, collection_name(manifest))

    queries = minilm.encode(QUERIES)
    faiss_hits = open_store(docs_repo, DATASET, "faiss").search(queries, 5)
    milvus = open_store(docs_repo, DATASET, "milvus", uri)
    try:
        assert milvus.manifest == manifest
        milvus_hits = milvus.search(queries, 5)
    finally:
        milvus.close()
    assert [[h.chunk.id for h in q] for q in milvus_hits] == [[h.chunk.id for h in q] for q in faiss_hits]
    assert [[h.chunk for h in q] for q in milvus_hits] == [[h.chunk for h in q] for q in faiss_hits]
    for m, f in zip(milvus_hits, faiss_hits, strict=True):
        assert [h.score for h in m] == pytest.approx([h.score for h in f], abs=1e-4)


def test_the_retriever_reads_the_same_from_either_backend(docs_repo: Repo, minilm, tmp_path: Path):
    uri = str(tmp_path / "milvus.db")
    sync(docs_repo, DATASET, uri)
    milvus = open_store(docs_repo, DATASET, "milvus", uri)
    try:
        from_milvus = Retriever(milvus, minilm).retrieve(QUERIES[0], 3)
    finally:
        milvus.close()
    from_faiss = Retriever(open_store(docs_repo, DATASET, "faiss"), minilm).retrieve(QUERIES[0], 3)
    assert [h.chunk.id for h in from_milvus] == [h.chunk.id for h in from_faiss]


def test_a_milvus_without_the_collection_names_it_and_the_sync_command(docs_repo: Repo, tmp_path: Path):
    with pytest.raises(IndexMissing) as caught:
        open_store(docs_repo, DATASET, "milvus", str(tmp_path / "empty.db"))
    message = str(caught.value)
    assert collection_name(read_manifest(docs_repo, DATASET)) in message
    assert "aip vectors sync platform-docs" in message


def test_a_milvus_server_that_does_not_answer_is_unavailable_naming_its_uri(docs_repo: Repo):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    with pytest.raises(VectorStoreUnavailable, match=rf"Milvus at {uri} is unavailable"):
        open_store(docs_repo, DATASET, "milvus", uri)


def test_a_milvus_lite_file_held_by_another_process_is_unavailable_saying_so(docs_repo: Repo, tmp_path: Path):
    import subprocess
    import sys

    uri = str(tmp_path / "held.db")
    hold = f"from pymilvus import MilvusClient; c = MilvusClient({uri!r}); print('held', flush=True); input()"
    holder = subprocess.Popen(
        [sys.executable, "-c", hold],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(VectorStoreUnavailable, match=r"one process at a time"):
            open_store(docs_repo, DATASET, "milvus", uri)
    finally:
        holder.communicate("\n", timeout=30)


def test_a_server_without_the_built_index_finds_its_collection_from_the_lock(
    private_docs_repo: Repo, tmp_path: Path
):
    """A serving pod has the commit (dataset.yaml, dvc.lock), not data/index/."""
    import hashlib
    import shutil

    uri = str(tmp_path / "milvus.db")
    built = sync(private_docs_repo, DATASET, uri)
    raw = private_docs_repo.dataset_dir(DATASET) / "data" / "raw.csv"
    md5 = hashlib.md5(raw.read_bytes()).hexdigest()
    lock = f"stages:\n  ingest:\n    outs:\n    - path: data/raw.csv\n      md5: {md5}\n"
    (private_docs_repo.dataset_dir(DATASET) / "dvc.lock").write_text(lock)
    shutil.rmtree(private_docs_repo.dataset_dir(DATASET) / "data")
    store = open_store(private_docs_repo, DATASET, "milvus", uri)
    try:
        assert (store.collection, store.manifest.chunks) == (built.collection, built.rows)  # type: ignore[attr-defined]
    finally:
        store.close()
