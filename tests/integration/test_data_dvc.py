"""Real DVC: a fresh clone reproduces the committed data versions, and a folder remote restores them."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from pipelines.data import DataValidationError, data_version, prepare
from pipelines.data.dvc import run_dvc
from pipelines.repo.layout import Repo
from tests.support.repo import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DATASET = "breast-cancer"  # the quicker of the two to reproduce


def _md5s(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_fresh_clone_reproduces_the_committed_version_and_a_pull_restores_identical_files(
    repo_copy: Path,
) -> None:
    repo = Repo(repo_copy)
    committed_lock = (REPO_ROOT / "datasets" / DATASET / "dvc.lock").read_text()

    version = prepare(repo, DATASET, "local")

    assert version == data_version(Repo(REPO_ROOT), DATASET), "dvc.lock is stale: run `aip data prepare`"
    assert (repo_copy / "datasets" / DATASET / "dvc.lock").read_text() == committed_lock
    data = repo_copy / "datasets" / DATASET / "data"
    before = _md5s(data / "splits") | {"raw.csv": _md5s(data)["raw.csv"]}
    assert any((repo_copy / ".aip" / "dvc-remote").rglob("*")), "nothing was pushed to the folder remote"

    shutil.rmtree(data)
    shutil.rmtree(repo_copy / ".dvc" / "cache")
    pulled = run_dvc(repo, "pull", "--remote", "aip-local", f"datasets/{DATASET}/dvc.yaml")

    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert _md5s(data / "splits") | {"raw.csv": _md5s(data)["raw.csv"]} == before


def test_data_that_breaks_its_suite_stops_prepare_with_the_report_before_the_split(repo_copy: Path) -> None:
    suite = repo_copy / "datasets" / DATASET / "expectations.yaml"
    suite.write_text(suite.read_text().replace("{min_value: 550, max_value: 600}", "{min_value: 5000}"))

    with pytest.raises(DataValidationError) as caught:
        prepare(Repo(repo_copy), DATASET, "local", push=False)

    report = caught.value.report
    assert [f.expectation for f in report.failed] == ["expect_table_row_count_to_be_between"]
    assert report.failed[0].observed == 569
    assert "truncated source" in caught.value.report.summary()
    assert not (repo_copy / "datasets" / DATASET / "data" / "splits").exists()
