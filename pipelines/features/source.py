"""The offline source of a dataset's feature store: its validated rows as parquet (the DVC `features` stage).

    aip features export breast-cancer       # what the stage runs

Read from data/raw.csv after the validate stage passed, keyed by the entity column and timed by the
timestamp column (dataset.yaml `features`), the measurements as float64, one row per entity and time,
sorted by key. Feast's file offline store reads it for `get_historical_features` (training) and
`materialize` (the online store). The data version stays the split's md5 (dvc.lock): this file is
derived from the same raw.csv, and the feature definitions count in the fingerprint instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.data import raw_csv, read_csv
from pipelines.features.errors import FeatureStoreError

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.features.definitions import FeatureRepo
    from pipelines.repo.layout import Repo


def export_source(repo: Repo, dataset: str) -> Path:
    """Write the feature repo's FileSource parquet from data/raw.csv; return its path."""
    from pipelines.features.definitions import load_feature_repo

    feature_repo = load_feature_repo(repo, dataset)
    cfg = repo.dataset(dataset)
    raw = raw_csv(repo, dataset)
    if not raw.is_file():
        raise FeatureStoreError(f"{dataset}: {raw} does not exist; run `aip data prepare {dataset}` first")
    frame = read_csv(raw, string_columns=(cfg.label_column,), dataset=dataset)
    table = source_frame(feature_repo, frame, str(raw))
    path = feature_repo.source_path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    table.to_parquet(tmp, index=False)
    tmp.replace(path)  # atomic: Feast never reads half a file
    return path


def source_frame(feature_repo: FeatureRepo, frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """The keys and features of `frame` as the feature views read them (typed, sorted by key)."""
    import pandas as pd

    entity, timestamp = feature_repo.config.entity_column, feature_repo.config.timestamp_column
    wanted = [entity, timestamp, *feature_repo.feature_columns]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise FeatureStoreError(
            f"{feature_repo.dataset}: {where} has no column(s) {missing}; ingest.py must write the "
            f"entity and timestamp columns dataset.yaml's `features` names"
        )
    out = frame[wanted].copy()
    try:
        out[timestamp] = pd.to_datetime(out[timestamp], utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise FeatureStoreError(
            f"{feature_repo.dataset}: {where}: column '{timestamp}' is not ISO 8601 times: {exc}"
        ) from exc
    out[entity] = out[entity].astype("int64")
    for column in feature_repo.feature_columns:
        out[column] = out[column].astype("float64")
    return out.sort_values([entity, timestamp], kind="mergesort").reset_index(drop=True)
