"""The real datasets, ingested, validated and split into a private repo copy once per session."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pipelines.data import ValidationReport, ingest, split, validate
from pipelines.repo.layout import Repo
from tests.conftest import make_repo_copy


@dataclass(frozen=True)
class Prepared:
    repo: Repo
    reports: dict[str, ValidationReport]


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """Every dataset through the three stage functions (no DVC): what the stages write on a fresh clone."""
    repo = Repo(make_repo_copy(tmp_path_factory.mktemp("data") / "repo"))
    reports = {}
    for name in repo.dataset_names():
        ingest(repo, name)
        reports[name] = validate(repo, name)
        split(repo, name)
    return Prepared(repo, reports)
