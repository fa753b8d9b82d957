"""The ingest stage: run a dataset's own `ingest.py` and write its rows to `data/raw.csv`.

Each dataset folder owns its ingestion code (`datasets/<name>/ingest.py`, a function
`ingest(**dataset.yaml's ingest) -> pandas.DataFrame`), because reading a fork's source is the fork's
business; this module only loads it, checks the frame has the columns dataset.yaml promises, and writes
byte-stable CSV so the md5 in dvc.lock is the data version.

    aip data ingest chatterbot-topics        # what the DVC stage runs
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.data._csv import write_csv
from pipelines.data._paths import raw_csv
from pipelines.data.errors import DataError
from pipelines.repo.layout import Repo

if TYPE_CHECKING:
    import pandas as pd


def ingest(repo: Repo, dataset: str) -> Path:
    """Run `datasets/<dataset>/ingest.py:ingest(**cfg.ingest)` and write `data/raw.csv`; return its path."""
    cfg = repo.dataset(dataset)
    source = repo.dataset_dir(dataset) / "ingest.py"
    function = _load_ingest_function(dataset, source)
    try:
        frame = function(**cfg.ingest)
    except TypeError as exc:  # a key in dataset.yaml's `ingest` the function does not take
        raise DataError(f"{dataset}: {source}: ingest(**{cfg.ingest!r}) failed: {exc}") from exc
    if cfg.engine == "dask":
        return _ingest_on_dask(repo, dataset, source, frame)
    _check_frame(dataset, source, frame, cfg.columns)
    return write_csv(frame.reset_index(drop=True), raw_csv(repo, dataset))


def _ingest_on_dask(repo: Repo, dataset: str, source: Path, frame: Any) -> Path:
    """`engine: dask`: ingest.py may return a Dask DataFrame (read in partitions on the cluster) or a
    pandas one (cut into `dask.partitions`); the workers format the CSV, the same bytes as pandas."""
    import pandas as pd

    from pipelines.data import dask_engine
    from pipelines.data.split import _platform_scheduler

    cfg = repo.dataset(dataset)
    dd = dask_engine.dask_module("dask.dataframe")
    if isinstance(frame, pd.DataFrame):
        _check_frame(dataset, source, frame, cfg.columns)
        frame = dd.from_pandas(frame.reset_index(drop=True), npartitions=cfg.dask.partitions, sort=False)
    elif isinstance(frame, dd.DataFrame):
        _check_frame(dataset, source, frame._meta, cfg.columns, check_rows=False)
    else:
        raise DataError(
            f"{dataset}: {source}: ingest() returned {type(frame).__name__}, "
            "expected a pandas or Dask DataFrame (engine: dask)"
        )
    address = dask_engine.scheduler_address(cfg, _platform_scheduler(repo))
    with dask_engine.dask_client(dataset, address, cfg.dask.timeout_s) as client:
        path = dask_engine.write_frame(client, dataset, frame, raw_csv(repo, dataset), cfg.dask.timeout_s)
    with path.open("rb") as handle:
        has_rows = handle.readline() != b"" and handle.readline() != b""  # a header and one row
    if not has_rows:
        path.unlink()
        raise DataError(f"{dataset}: {source}: ingest() returned no rows")
    return path


def _load_ingest_function(dataset: str, source: Path) -> Any:
    """Import a dataset's ingest.py by path (dataset folders are not a package) and return `ingest`."""
    if not source.is_file():
        raise DataError(
            f"{dataset}: {source} does not exist; a dataset needs an ingest.py with ingest(**kwargs)"
        )
    module_name = f"aip_dataset_{dataset.replace('-', '_')}_ingest"
    spec = importlib.util.spec_from_file_location(module_name, source)
    if spec is None or spec.loader is None:
        raise DataError(f"{dataset}: cannot import {source}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    function = getattr(module, "ingest", None)
    if not callable(function):
        raise DataError(f"{dataset}: {source} defines no function ingest(**kwargs) -> DataFrame")
    return function


def _check_frame(
    dataset: str, source: Path, frame: Any, wanted: list[str], *, check_rows: bool = True
) -> pd.DataFrame:
    """Fail early, naming the file, when ingest.py returns something the later stages cannot use."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"{dataset}: {source}: ingest() returned {type(frame).__name__}, expected a pandas DataFrame"
        )
    if check_rows and frame.empty:
        raise DataError(f"{dataset}: {source}: ingest() returned no rows")
    missing = [column for column in wanted if column not in frame.columns]
    if missing:
        raise DataError(
            f"{dataset}: {source}: ingest() returned no column(s) {missing} promised by dataset.yaml; "
            f"it returned {list(frame.columns)}"
        )
    return frame
