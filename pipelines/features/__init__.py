"""The Feast feature store of tabular datasets (docs/features.md).

A dataset with a `features` section in dataset.yaml keeps a Feast feature repo beside it
(`datasets/<name>/features/definitions.py`). Its DVC `features` stage writes the offline source
(`export_source`); `open_store` generates the environment's feature_store.yaml from platform.yaml and
applies the definitions; training reads splits through `historical_frame` (point-in-time join);
`materialize` fills the online store that `aip serve` reads by entity key (`OnlineLookup`).
Feast itself is imported inside the functions that use it.
"""

from pipelines.features.definitions import FeatureRepo, feature_datasets, load_feature_repo
from pipelines.features.errors import EntityKeyError, FeatureStoreError, UnknownEntity
from pipelines.features.materialize import Materialised, materialize, parse_end
from pipelines.features.online import OnlineLookup
from pipelines.features.source import export_source
from pipelines.features.store import OpenedStore, open_store, store_folder
from pipelines.features.training import historical_frame

__all__ = [
    "EntityKeyError",
    "FeatureRepo",
    "FeatureStoreError",
    "Materialised",
    "OnlineLookup",
    "OpenedStore",
    "UnknownEntity",
    "export_source",
    "feature_datasets",
    "historical_frame",
    "load_feature_repo",
    "materialize",
    "open_store",
    "parse_end",
    "store_folder",
]
