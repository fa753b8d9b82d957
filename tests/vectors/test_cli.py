"""`aip vectors build | sync | search` through the real CLI, on a copy of the small docs dataset."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.repo.layout import Repo
from pipelines.vectors import Retriever, open_store
from tests.support.cli import run_aip
from tests.vectors.conftest import DATASET, make_docs_repo

pytestmark = pytest.mark.slow  # each call starts Python and loads MiniLM (~5 s on 2 cores)

RUNBOOKS = ["docs/runbooks/watchdog.md", "docs/runbooks/canary-failed.md", "docs/runbooks/drift-detected.md"]


@pytest.fixture
def tiny_repo(tmp_path: Path) -> Repo:
    """Three runbooks, ingested, not indexed yet (a dozen chunks: the CLI's build takes seconds)."""
    from pipelines.data import ingest

    repo = make_docs_repo(tmp_path / "repo", include=RUNBOOKS)
    ingest(repo, DATASET)
    return repo


@pytest.mark.parametrize("command", ["build", "sync", "search"])
def test_every_vectors_command_has_help(tiny_repo: Repo, command: str):
    result = run_aip(tiny_repo.root, "vectors", command, "--help")
    assert result.returncode == 0 and "dataset" in result.stdout


def test_build_sync_and_search_on_milvus_lite_print_what_faiss_finds(tiny_repo: Repo, minilm):
    root = tiny_repo.root
    built = run_aip(root, "vectors", "build", DATASET)
    assert built.returncode == 0, built.stderr
    assert "embedding" in built.stderr and re.search(
        r"\d+ chunks x 384 dims .* version [0-9a-f]{32}", built.stdout
    )

    synced = run_aip(root, "vectors", "sync", DATASET)
    assert synced.returncode == 0, synced.stderr
    assert "loaded" in synced.stdout and str(root / ".aip" / "milvus.db") in synced.stdout

    query = "the watchdog alert fired"
    printed = run_aip(root, "vectors", "search", DATASET, query, "-k", "3", "--backend", "milvus")
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert len(lines) == 3
    assert re.match(r"^ 1  0\.\d{3}  docs/runbooks/watchdog\.md  \|  Watchdog", lines[0])
    in_process = Retriever(open_store(tiny_repo, DATASET, "faiss"), minilm).retrieve(query, 3)
    assert [line.split()[2] for line in lines] == [h.chunk.path for h in in_process]


def test_search_without_an_index_fails_naming_the_build_command(tiny_repo: Repo):
    result = run_aip(tiny_repo.root, "vectors", "search", DATASET, "anything")
    assert result.returncode == 1
    assert "aip vectors build platform-docs" in result.stderr and "Traceback" not in result.stderr
