"""The FAISS index of a documents dataset: what build writes, what search returns, and the errors that
name what to run."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from pipelines.repo.layout import Repo
from pipelines.vectors import (
    IndexManifest,
    IndexMismatch,
    IndexMissing,
    Retriever,
    VectorError,
    build_index,
    embedder,
    index_dir,
    index_version,
    open_store,
)
from tests.vectors.conftest import DATASET

pytestmark = pytest.mark.slow  # the session's embedder and small index (~10 s on 2 cores)


def test_the_embedder_returns_unit_vectors_of_its_dimension(minilm):
    vectors = minilm.encode(["how do I add a model?", "what does the watchdog alert mean"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    alone = minilm.encode(["how do I add a model?"])
    assert np.allclose(alone[0], vectors[0], atol=1e-5), "a text's vector does not depend on its batch"


def test_an_unknown_embedding_model_is_an_error_listing_the_known_ones():
    with pytest.raises(VectorError, match=r"unknown embedding model 'bge-small' \(known: all-minilm-l6-v2\)"):
        embedder("bge-small")


def test_build_writes_the_index_its_chunks_and_a_manifest_versioned_by_chunks_and_model(docs_repo: Repo):
    folder = index_dir(docs_repo, DATASET)
    assert sorted(p.name for p in folder.iterdir()) == ["chunks.jsonl", "index.faiss", "manifest.json"]
    manifest = IndexManifest.read(folder / "manifest.json")
    raw = (docs_repo.dataset_dir(DATASET) / "data" / "raw.csv").read_bytes()
    lines = (folder / "chunks.jsonl").read_text().splitlines()
    version = index_version(hashlib.md5(raw).hexdigest(), "all-minilm-l6-v2")
    assert manifest == IndexManifest(DATASET, "all-minilm-l6-v2", 384, len(lines), version)
    assert json.loads(lines[0])["id"].endswith(":0")


def test_rebuilding_writes_the_same_bytes(private_docs_repo: Repo):
    folder = index_dir(private_docs_repo, DATASET)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    build_index(private_docs_repo, DATASET)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_a_chunk_finds_itself_first(docs_repo: Repo, minilm):
    store = open_store(docs_repo, DATASET, "faiss")
    chunks = store.chunks[:24]  # type: ignore[attr-defined]
    hits = store.search(minilm.encode([c.embedding_text() for c in chunks]), 1)
    assert [h[0].chunk.id for h in hits] == [c.id for c in chunks]
    assert min(h[0].score for h in hits) > 0.999


def test_a_question_finds_the_runbook_that_answers_it_scores_best_first(docs_repo: Repo, minilm):
    retriever = Retriever(open_store(docs_repo, DATASET, "faiss"), minilm)
    hits = retriever.retrieve("the watchdog alert fired, is alerting broken?", 4)
    assert hits[0].chunk.path == "docs/runbooks/watchdog.md"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(-1.0 <= h.score <= 1.0 for h in hits)


def test_k_beyond_the_index_returns_every_chunk_once(docs_repo: Repo, minilm):
    store = open_store(docs_repo, DATASET, "faiss")
    (hits,) = store.search(minilm.encode(["canary"]), 10_000)
    assert len(hits) == store.manifest.chunks == len({h.chunk.id for h in hits})


def test_query_vectors_of_another_dimension_are_refused(docs_repo: Repo):
    store = open_store(docs_repo, DATASET, "faiss")
    with pytest.raises(
        VectorError, match=r"shape \(1, 768\); the index \(all-minilm-l6-v2\) takes \(n, 384\)"
    ):
        store.search(np.zeros((1, 768), dtype=np.float32), 3)


def test_a_missing_index_names_its_folder_and_the_command_that_builds_it(private_docs_repo: Repo):
    folder = index_dir(private_docs_repo, DATASET)
    shutil.rmtree(folder)
    with pytest.raises(IndexMissing) as caught:
        open_store(private_docs_repo, DATASET, "faiss")
    assert str(folder) in str(caught.value) and "aip vectors build platform-docs" in str(caught.value)


def test_an_index_built_with_another_model_is_refused_naming_both(private_docs_repo: Repo, minilm):
    path = index_dir(private_docs_repo, DATASET) / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "embedding_model": "e5-small-v2"}))
    retriever = Retriever(open_store(private_docs_repo, DATASET, "faiss"), minilm)
    with pytest.raises(
        IndexMismatch, match=r"built with embedding model 'e5-small-v2', but 'all-minilm-l6-v2'"
    ):
        retriever.retrieve("how do I add a model?", 3)


def test_an_unknown_backend_is_an_error_listing_the_allowed(docs_repo: Repo):
    with pytest.raises(
        VectorError, match=r"unknown vector store backend 'qdrant' \(allowed: faiss, milvus\)"
    ):
        open_store(docs_repo, DATASET, "qdrant")


def test_building_a_dataset_that_is_not_documents_is_refused():
    from tests.support.repo import REPO_ROOT

    with pytest.raises(VectorError, match=r"only a documents dataset is indexed \(this one is text\)"):
        build_index(Repo(REPO_ROOT), "chatterbot-topics")
