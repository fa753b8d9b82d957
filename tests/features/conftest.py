"""Fixtures of the feature-store tests: a repo copy whose breast-cancer data went through the stages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.repo import make_repo_copy

DATASET = "breast-cancer"


def prepare_features(root: Path) -> Path:
    """Ingest, validate, split and export breast-cancer in the copy at `root` (the DVC stages' work)."""
    from pipelines.data import ingest, split, validate
    from pipelines.features import export_source
    from pipelines.repo.layout import Repo

    repo = Repo(root)
    ingest(repo, DATASET)
    assert validate(repo, DATASET).success
    split(repo, DATASET)
    export_source(repo, DATASET)
    return root


@pytest.fixture(scope="session")
def features_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo copy with breast-cancer's splits and feature-store source; tests copy it to change it."""
    return prepare_features(make_repo_copy(tmp_path_factory.mktemp("features") / "repo"))
