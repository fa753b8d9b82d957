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
    _check_frame(dataset, source, frame, cfg.columns)
    return write_csv(frame.reset_index(drop=True), raw_csv(repo, dataset))


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


def _check_frame(dataset: str, source: Path, frame: Any, wanted: list[str]) -> pd.DataFrame:
    """Fail early, naming the file, when ingest.py returns something the later stages cannot use."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"{dataset}: {source}: ingest() returned {type(frame).__name__}, expected a pandas DataFrame"
        )
    if frame.empty:
        raise DataError(f"{dataset}: {source}: ingest() returned no rows")
    missing = [column for column in wanted if column not in frame.columns]
    if missing:
        raise DataError(
            f"{dataset}: {source}: ingest() returned no column(s) {missing} promised by dataset.yaml; "
            f"it returned {list(frame.columns)}"
        )
    return frame
