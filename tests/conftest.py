"""Shared fixtures: private repo copies, the session's prepared data and its trained registry.

Tests never touch the real checkout's state (.aip/) or data: they copy the repo's config files into a
temporary git repository and point `aip` at it with AIP_REPO. The helpers are in tests/support/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.offline import apply_offline_env
from tests.support.prepared import prepare_data
from tests.support.registry import TrainedRegistry, train_registry
from tests.support.repo import make_repo_copy

apply_offline_env()  # offline and quiet, as in the Makefile
os.environ.pop("AIP_TRACKING_URI", None)
os.environ.pop("AIP_REPO", None)


@pytest.fixture(scope="session")
def prepared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo copy whose datasets went through ingest → validate → split, made once per session.

    A clean clone has no `datasets/*/data` (DVC outputs are git-ignored); tests that read splits take
    them from here, never from the checkout, so they pass on a fresh machine. Read-only.
    """
    return prepare_data(make_repo_copy(tmp_path_factory.mktemp("prepared") / "repo"))


@pytest.fixture(scope="session")
def trained_registry(tmp_path_factory: pytest.TempPathFactory) -> TrainedRegistry:
    """A repo copy where one `aip run` registered both models on a small sample (tests/support/registry.py).

    Shared by the serving, deploy, e2e, model and observability tests; read-only: a test that changes
    anything works on `tests.support.registry.private_copy(...)`.
    """
    return train_registry(tmp_path_factory.mktemp("trained") / "repo")


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    return make_repo_copy(tmp_path / "repo")


@pytest.fixture
def aip_repo(repo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A repo copy that in-process calls (Repo.discover) resolve to."""
    monkeypatch.setenv("AIP_REPO", str(repo_copy))
    yield repo_copy
