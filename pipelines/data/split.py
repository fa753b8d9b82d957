"""The split stage: a deterministic, stratified train/validation/test split, and reading a split back.

Deterministic means byte-identical CSVs on every machine and library version, so the md5 data version
in dvc.lock is stable on a fresh clone. Hence: rows are sorted before the seeded shuffle; the shuffle
uses numpy's legacy `RandomState`, whose stream numpy promises never to change (scikit-learn's splitters
carry no such promise); each class is cut with the same rounding rule; and each split is written sorted.

    aip data split chatterbot-topics         # what the DVC stage runs
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.data._csv import read_csv, string_columns, write_csv
from pipelines.data._paths import SPLITS, raw_csv, splits_dir
from pipelines.data._split_sizes import group_sizes
from pipelines.data.errors import DataError
from pipelines.repo.layout import Repo

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.config import SplitConfig


def split(repo: Repo, dataset: str) -> dict[str, Path]:
    """Split `data/raw.csv` per dataset.yaml's `split` into `data/splits/{train,validation,test}.csv`."""
    cfg = repo.dataset(dataset)
    if cfg.kind == "documents":
        raise DataError(
            f"{dataset}: a documents dataset is indexed, not split: run `aip vectors build {dataset}`"
        )
    raw = raw_csv(repo, dataset)
    if not raw.is_file():
        raise DataError(f"{dataset}: {raw} does not exist; run `aip data ingest {dataset}` first")
    strings = string_columns(cfg.kind, cfg.label_column, cfg.text_column)
    out = splits_dir(repo, dataset)
    if cfg.engine == "dask":
        from pipelines.data import dask_engine

        with dask_engine.dask_client(
            dataset, dask_engine.scheduler_address(cfg, _platform_scheduler(repo)), cfg.dask.timeout_s
        ) as client:
            return dask_engine.split_csv(client, dataset, raw, out, cfg, strings)
    frame = read_csv(raw, string_columns=strings, dataset=dataset)
    parts = split_frame(frame, cfg.split, cfg.label_column)
    return {name: write_csv(part, out / f"{name}.csv") for name, part in parts.items()}


def _platform_scheduler(repo: Repo) -> str | None:
    """The Dask scheduler of the environment in $AIP_ENV (else platform.yaml's default), if it has one."""
    import os

    return repo.environment(os.environ.get("AIP_ENV") or None)[1].dask_scheduler


def split_frame(frame: pd.DataFrame, cfg: SplitConfig, label_column: str) -> dict[str, pd.DataFrame]:
    """Pure split of `frame`: same input rows (in any order) and config give the same three frames.

    Per class (or over all rows when `stratify` is off) the sorted rows are shuffled with one
    `RandomState(seed)`, and the first round(n * test) go to test, the next round(n * validation) to
    validation, the rest to train; a class with at least 3 rows puts at least one row in each split.
    """
    import numpy as np

    if label_column not in frame.columns:
        raise DataError(f"label column '{label_column}' is not in the data (columns: {list(frame.columns)})")
    key = [label_column, *[c for c in frame.columns if c != label_column]]
    ordered = frame.sort_values(key, kind="mergesort").reset_index(drop=True)
    rng = np.random.RandomState(cfg.seed)
    groups = (
        [ordered.index[ordered[label_column] == value] for value in sorted(ordered[label_column].unique())]
        if cfg.stratify
        else [ordered.index]
    )
    chosen: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
    for rows in groups:
        shuffled = [int(rows[i]) for i in rng.permutation(len(rows))]
        n_test, n_validation = group_sizes(len(rows), cfg.test, cfg.validation)
        chosen["test"].extend(shuffled[:n_test])
        chosen["validation"].extend(shuffled[n_test : n_test + n_validation])
        chosen["train"].extend(shuffled[n_test + n_validation :])
    return {name: ordered.loc[sorted(chosen[name])].reset_index(drop=True) for name in SPLITS}


def load_split(repo: Repo, dataset: str, split: str) -> pd.DataFrame:
    """One split as a DataFrame (labels and texts as strings); DataError saying how to make it if missing."""
    if split not in SPLITS:
        raise DataError(f"{dataset}: unknown split '{split}'; allowed: {', '.join(SPLITS)}")
    cfg = repo.dataset(dataset)
    path = splits_dir(repo, dataset) / f"{split}.csv"
    if not path.is_file():
        raise DataError(f"{dataset}: {path} does not exist; run `aip data prepare {dataset}`")
    return read_csv(
        path, string_columns=string_columns(cfg.kind, cfg.label_column, cfg.text_column), dataset=dataset
    )


def model_inputs(repo: Repo, dataset: str, frame: pd.DataFrame) -> list[Any]:
    """A split's rows as a model server takes them: the texts, or one feature dict per row (the label
    and a feature store's entity and timestamp columns dropped). `aip deploy` replays them, `aip
    bench` sends them."""
    cfg = repo.dataset(dataset)
    if cfg.kind == "text":
        return [str(t) for t in frame[cfg.text_column or "text"].tolist()]
    dropped = [cfg.label_column, *cfg.key_columns]
    rows: list[Any] = frame.drop(columns=[c for c in dropped if c in frame.columns]).to_dict(orient="records")
    return rows
