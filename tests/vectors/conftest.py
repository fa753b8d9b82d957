"""A small documents dataset built once per session: the runbooks and two READMEs, ingested and indexed.

The embedder is loaded once per process (pipelines.vectors caches it), so every test shares one MiniLM.
The repo is a temporary folder holding platform.yaml and datasets/platform-docs with its `include`
narrowed to a few files (~60 chunks, a few seconds to embed on 2 cores); tests that change anything
copy it first (`private_docs_repo`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.repo.layout import Repo
from tests.support.repo import REPO_ROOT, edit_yaml

DATASET = "platform-docs"
SMALL_INCLUDE = ["docs/runbooks/*.md", "models/README.md", "datasets/README.md"]


def make_docs_repo(dest: Path, include: list[str] = SMALL_INCLUDE) -> Repo:
    """platform.yaml, the platform-docs dataset (its include narrowed) and the files it reads."""
    dest.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "platform.yaml", dest / "platform.yaml")
    folder = dest / "datasets" / DATASET
    shutil.copytree(
        REPO_ROOT / "datasets" / DATASET, folder, ignore=shutil.ignore_patterns("data", "dvc.lock")
    )
    shutil.copytree(REPO_ROOT / "docs" / "runbooks", dest / "docs" / "runbooks")
    for readme in ("models/README.md", "datasets/README.md"):
        (dest / readme).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / readme, dest / readme)
    edit_yaml(folder / "dataset.yaml", lambda data: data["ingest"].__setitem__("include", include))
    return Repo(dest)


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    from pipelines.vectors import embedder

    return embedder("all-minilm-l6-v2")


@pytest.fixture(scope="session")
def docs_repo(tmp_path_factory: pytest.TempPathFactory, minilm) -> Repo:  # type: ignore[no-untyped-def]
    """The small dataset ingested and indexed (data/raw.csv and data/index/). Read-only."""
    from pipelines.data import ingest
    from pipelines.vectors import build_index

    repo = make_docs_repo(tmp_path_factory.mktemp("docs") / "repo")
    ingest(repo, DATASET)
    build_index(repo, DATASET)
    return repo


@pytest.fixture
def private_docs_repo(docs_repo: Repo, tmp_path: Path) -> Repo:
    """A copy of the built small dataset that a test may change."""
    return Repo(Path(shutil.copytree(docs_repo.root, tmp_path / "repo")))
