"""The real datasets, ingested, validated and split into the session's prepared repo copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.data import ValidationReport
from pipelines.data._paths import validation_json
from pipelines.repo.layout import Repo
from tests.support.prepared import Prepared


@pytest.fixture(scope="session")
def prepared(prepared_root: Path) -> Prepared:
    """Every dataset through the three stage functions (no DVC): what the stages write on a fresh clone.

    The session's one prepared copy (tests/conftest.py's `prepared_root`); its validation reports are
    read back from data/validation.json, where the validate stage writes them.
    """
    repo = Repo(prepared_root)
    reports = {name: ValidationReport.read(validation_json(repo, name)) for name in repo.dataset_names()}
    return Prepared(repo, reports)
