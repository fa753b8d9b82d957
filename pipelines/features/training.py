"""A training split read through the feature store: `get_historical_features`, point-in-time correct.

The split (data/splits/<name>.csv) supplies the entity dataframe: each row's entity key, its event
time and its label. Feast joins to each the latest feature row of that entity at or before that time
(never a later one: no leakage from the future), from the offline source. What the model trains on is
what the feature store holds, the same rows `aip serve` reads online after materialisation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.features.errors import FeatureStoreError

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.features.store import OpenedStore

_ROW = "__aip_row"  # carries the split's row order through Feast's join


def historical_frame(opened: OpenedStore, split: pd.DataFrame, label_column: str, what: str) -> pd.DataFrame:
    """The split's rows with their features from the store, in the split's order: the feature columns,
    the label, the entity and timestamp columns (as in the split). `what` names the split in errors."""
    import pandas as pd

    repo = opened.feature_repo
    entity, timestamp = repo.config.entity_column, repo.config.timestamp_column
    missing = [c for c in (entity, timestamp, label_column) if c not in split.columns]
    if missing:
        raise FeatureStoreError(f"{repo.dataset}: {what} has no column(s) {missing} for the entity dataframe")
    if not repo.source_path.is_file():
        raise FeatureStoreError(
            f"{repo.dataset}: the offline source {repo.source_path} does not exist; "
            f"run `aip data prepare {repo.dataset}` (its `features` stage writes it)"
        )
    entities = pd.DataFrame(
        {
            entity: split[entity].astype("int64"),
            timestamp: pd.to_datetime(split[timestamp], utc=True, format="ISO8601"),
            _ROW: range(len(split)),
        }
    )
    try:
        joined = opened.store.get_historical_features(entity_df=entities, features=repo.service).to_df()
    except Exception as exc:
        raise FeatureStoreError(
            f"{repo.dataset}: get_historical_features for {what} failed ({repo.file}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    joined = joined.sort_values(_ROW, kind="mergesort").reset_index(drop=True)
    unmatched = joined[joined[repo.feature_columns].isna().any(axis=1)]
    if len(unmatched):
        keys = unmatched[entity].tolist()
        raise FeatureStoreError(
            f"{repo.dataset}: {len(keys)} row(s) of {what} have no features at or before their "
            f"{timestamp} in {repo.source_path}: {entity} {keys[:5]}"
        )
    out = joined[repo.feature_columns].copy()
    out[label_column] = split[label_column].to_numpy()
    out[entity] = split[entity].to_numpy()
    out[timestamp] = split[timestamp].to_numpy()
    return out
