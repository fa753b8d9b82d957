"""`engine: dask` writes the same bytes as `engine: pandas`: raw.csv and the three split files.

The pandas path is the reference (`split.split_frame` + `_csv.write_csv`); the Dask path runs on a real
`distributed` cluster of 2 worker processes on 127.0.0.1, shared by the module's tests.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.config import SplitConfig, load_dataset
from pipelines.config.dataset import DaskConfig
from pipelines.data import dask_engine
from pipelines.data._csv import read_csv, string_columns, write_csv
from pipelines.data._paths import raw_csv, splits_dir
from pipelines.data.ingest import ingest
from pipelines.data.split import split, split_frame
from pipelines.data.synthetic import breast_cancer_rows
from pipelines.data.validation import validate
from pipelines.repo.layout import Repo
from tests.support.repo import REPO_ROOT, edit_yaml


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a LocalCluster (2 processes, loopback, no dashboard) for this module's tests."""
    with dask_engine.local_cluster() as cluster:
        yield cluster.scheduler_address


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _pandas_splits(raw: Path, out: Path, split_cfg: SplitConfig, strings: tuple[str, ...]) -> dict[str, str]:
    parts = split_frame(read_csv(raw, string_columns=strings), split_cfg, "label")
    return {name: _md5(write_csv(part, out / f"{name}.csv")) for name, part in parts.items()}


@pytest.mark.parametrize("stratify", [True, False])
def test_partition_codes_do_not_depend_on_partition_boundaries(stratify: bool) -> None:
    """The per-partition codes, cut anywhere, give every row the split `split_frame` gives it."""
    frame = breast_cancer_rows(2_000, seed=3)
    cfg = SplitConfig(seed=7, stratify=stratify)
    expected = split_frame(frame, cfg, "label")
    key = ["label", *[c for c in frame.columns if c != "label"]]
    ordered = frame.sort_values(key, kind="mergesort").reset_index(drop=True)
    for cuts in ([], [1, 999, 1000, 1500], sorted(np.random.RandomState(0).choice(2_000, 9, replace=False))):
        bounds = [0, *cuts, len(ordered)]
        parts = [ordered.iloc[a:b] for a, b in itertools.pairwise(bounds)]
        counts = [dask_engine._group_counts(p, "label", stratify) for p in parts]
        codes = np.concatenate(dask_engine.partition_codes(counts, cfg))
        for code, name in enumerate(("train", "validation", "test")):
            got = ordered[codes == code].reset_index(drop=True)
            pd.testing.assert_frame_equal(got, expected[name])


@pytest.mark.parametrize(("rows", "stratify", "partitions"), [(50_000, True, 7), (10_000, False, 3)])
def test_dask_split_is_byte_identical_on_synthetic_rows(
    scheduler: str, tmp_path: Path, rows: int, stratify: bool, partitions: int
) -> None:
    raw = write_csv(breast_cancer_rows(rows, seed=1), tmp_path / "raw.csv")
    cfg = load_dataset(REPO_ROOT / "datasets/breast-cancer/dataset.yaml").model_copy(
        update={
            "split": SplitConfig(seed=11, stratify=stratify),
            "engine": "dask",
            "dask": DaskConfig(partitions=partitions),
        }
    )
    expected = _pandas_splits(raw, tmp_path / "pandas", cfg.split, ("label",))
    with dask_engine.dask_client("synthetic", scheduler, 30) as client:
        written = dask_engine.split_csv(client, "synthetic", raw, tmp_path / "dask", cfg, ("label",))
    assert {name: _md5(path) for name, path in written.items()} == expected
    assert sorted(p.name for p in (tmp_path / "dask").iterdir()) == [
        "test.csv",
        "train.csv",
        "validation.csv",
    ]


@pytest.mark.integration
def test_breast_cancer_on_dask_matches_pandas_and_validates(
    repo_copy: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real stages (`aip data ingest|split`) on both engines; the GX suite passes on the Dask output."""
    repo = Repo(repo_copy)
    ingest(repo, "breast-cancer")
    split(repo, "breast-cancer")
    reference = [_md5(raw_csv(repo, "breast-cancer"))] + [
        _md5(splits_dir(repo, "breast-cancer") / f"{n}.csv") for n in ("train", "validation", "test")
    ]
    raw_csv(repo, "breast-cancer").unlink()
    for path in splits_dir(repo, "breast-cancer").iterdir():
        path.unlink()

    edit_yaml(repo_copy / "datasets/breast-cancer/dataset.yaml", lambda d: d.update(engine="dask"))
    repo = Repo(repo_copy)  # configs are cached per Repo
    assert repo.dataset("breast-cancer").engine == "dask"
    ingest(repo, "breast-cancer")  # no address anywhere: the embedded default, a LocalCluster
    monkeypatch.setenv(dask_engine.SCHEDULER_ENV, scheduler)
    split(repo, "breast-cancer")  # the scheduler named by $AIP_DASK_SCHEDULER
    got = [_md5(raw_csv(repo, "breast-cancer"))] + [
        _md5(splits_dir(repo, "breast-cancer") / f"{n}.csv") for n in ("train", "validation", "test")
    ]
    assert got == reference
    assert validate(repo, "breast-cancer").success
    strings = string_columns("tabular", "label", None)
    assert len(read_csv(splits_dir(repo, "breast-cancer") / "train.csv", string_columns=strings)) > 300
