"""The data version read from dvc.lock: the md5 of the split stage's output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.data import DataError, data_version
from pipelines.repo.layout import Repo

REPO = Repo(Path(__file__).resolve().parents[2])

LOCK = """\
schema: '2.0'
stages:
  ingest:
    cmd: aip data ingest tiny
    outs:
    - path: data/raw.csv
      hash: md5
      md5: 183a361302782e2f2ade30cb43c549fd
      size: 10
  split:
    cmd: aip data split tiny
    outs:
    - path: data/splits
      hash: md5
      md5: 6cee78d47f01dabcd9ed5bc08c16d50b.dir
      size: 20
      nfiles: 3
"""


def _repo_with_lock(root: Path, lock: str | None) -> Repo:
    folder = root / "datasets" / "tiny"
    folder.mkdir(parents=True)
    if lock is not None:
        (folder / "dvc.lock").write_text(lock)
    return Repo(root)


def test_version_is_the_dir_md5_of_the_splits_out_without_its_suffix(tmp_path: Path) -> None:
    assert data_version(_repo_with_lock(tmp_path, LOCK), "tiny") == "6cee78d47f01dabcd9ed5bc08c16d50b"


def test_a_missing_lock_says_to_run_prepare(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"dvc.lock does not exist; run `aip data prepare tiny`"):
        data_version(_repo_with_lock(tmp_path, None), "tiny")


def test_a_lock_without_the_split_stage_is_an_error(tmp_path: Path) -> None:
    lock = LOCK.split("  split:", maxsplit=1)[0]
    with pytest.raises(DataError, match="records no md5 for data/splits"):
        data_version(_repo_with_lock(tmp_path, lock), "tiny")


@pytest.mark.parametrize("dataset", REPO.dataset_names())
def test_every_dataset_in_the_repo_has_a_committed_version(dataset: str) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", data_version(REPO, dataset))
