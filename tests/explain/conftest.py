"""Fixtures of the explanation tests: the trained registry's tumour model and text model.

They reuse the session's `trained_registry` (tests/conftest.py), which the serving, deploy and model
tests build anyway; its `aip run` also evaluated both models, so the reports and MLflow runs it left
carry the explanation section under test. `AIP_TEST_EXPLAIN_REPO=<a trained repo copy>` skips the
build when running these tests alone (a developer shortcut, as AIP_TEST_SERVED_REPO is for serving).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.registry import TEXT, TUMOR, registered_artifact, tumor_model


@pytest.fixture(scope="session")
def trained_root(request: pytest.FixtureRequest) -> Path:
    if reuse := os.environ.get("AIP_TEST_EXPLAIN_REPO"):
        return Path(reuse)
    return request.getfixturevalue("trained_registry").checked_root()


@dataclass
class Tumour:
    config: Any
    dataset: Any
    predictor: Any
    test: Any
    train: Any


@pytest.fixture(scope="session")
def tumour(trained_root: Path) -> Tumour:
    from pipelines.data import load_split
    from pipelines.repo.layout import Repo

    model = tumor_model(trained_root)
    train = load_split(Repo(trained_root), model.config.dataset, "train")
    return Tumour(model.config, model.dataset, model.predictor, model.test, train)


@pytest.fixture(scope="session")
def text_predictor(trained_root: Path) -> Any:
    from pipelines.artifacts import load

    return load(registered_artifact(trained_root, TEXT))


__all__ = ["TEXT", "TUMOR"]


@pytest.fixture(scope="session")
def tumor_rows() -> list[dict[str, float]]:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return [dict(zip(data.feature_names, map(float, row), strict=True)) for row in data.data[:10]]
