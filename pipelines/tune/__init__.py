"""Hyper-parameter search with Optuna (`aip tune`, docs/tuning.md).

model.yaml's `search` section names training parameters and their ranges; each trial trains the real
model on the DVC-prepared train split, is pruned or scored on the validation split, and is recorded as
a nested MLflow run under the study's parent run. The winning values reach model.yaml through a pull
request (`aip tune --write`), so training only ever uses what git says.
"""

from pipelines.tune.errors import StudyStorageUnavailable, TuneError
from pipelines.tune.storage import mask, open_storage, storage_url
from pipelines.tune.study import TuneRequest, default_study_name, shares, tune
from pipelines.tune.summary import Change, Summary
from pipelines.tune.write import write_training

__all__ = [
    "Change",
    "StudyStorageUnavailable",
    "Summary",
    "TuneError",
    "TuneRequest",
    "default_study_name",
    "mask",
    "open_storage",
    "shares",
    "storage_url",
    "tune",
    "write_training",
]
