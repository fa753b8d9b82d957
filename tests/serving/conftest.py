"""Fixtures of the serving tests: a small real registry and real `aip serve` processes on 127.0.0.1.

`served_repo` is a private copy of the session's trained registry (tests/support/registry.py) that
holds the tumour model only: version 1 with alias `local`, trained and registered by `aip run`.
Version 2 is registered from the same logged model (same weights, another fingerprint tag: a healthy
canary), version 3 points at a folder with pickled weights only (a canary that fails to load).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.registry import private_copy, register_serving_versions
from tests.support.serve import MODEL, Server, start_server


@pytest.fixture(scope="session")
def served_repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if reuse := os.environ.get("AIP_TEST_SERVED_REPO"):  # developer shortcut: a repo built by a previous run
        yield Path(reuse)
        return
    trained = request.getfixturevalue("trained_registry").checked_root()
    # The tumour model only, as `aip serve` without --models would otherwise load the text model too.
    root = private_copy(trained, tmp_path_factory.mktemp("serving") / "repo", keep=[MODEL])
    register_serving_versions(root)
    yield root


@pytest.fixture(scope="module")
def server(served_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module, fault injection enabled (tests reset what they change)."""
    running = start_server(served_repo, tmp_path_factory.mktemp("logs"), "--enable-fault-injection")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def tumor_rows() -> list[dict[str, float]]:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return [dict(zip(data.feature_names, map(float, row), strict=True)) for row in data.data[:40]]
