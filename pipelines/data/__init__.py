"""The data layer: ingest, validate (Great Expectations), split, and version datasets with DVC.

Each dataset is `datasets/<name>/` with a dataset.yaml, its own ingest.py, an expectations.yaml suite and
a dvc.yaml of three stages (ingest -> validate -> split) that call `aip data <stage> <name>`; a
`documents` dataset (chunks of markdown for retrieval, `documents.py`) ends in `aip vectors build`
instead of a split. `prepare` is the data step of `aip run`; `load_split` and `data_version` are what
training and fingerprints read.
Heavy libraries (pandas, great_expectations, dvc) are imported inside the functions that use them.
"""

from pipelines.data._csv import read_csv
from pipelines.data._paths import SPLITS, raw_csv, splits_dir, validation_json
from pipelines.data.dvc import prepare
from pipelines.data.errors import DataError, DataValidationError
from pipelines.data.ingest import ingest
from pipelines.data.report import FailedExpectation, ValidationReport
from pipelines.data.split import load_split, model_inputs, split
from pipelines.data.validation import validate
from pipelines.data.version import data_version

__all__ = [
    "SPLITS",
    "DataError",
    "DataValidationError",
    "FailedExpectation",
    "ValidationReport",
    "data_version",
    "ingest",
    "load_split",
    "model_inputs",
    "prepare",
    "raw_csv",
    "read_csv",
    "split",
    "splits_dir",
    "validate",
    "validation_json",
]
