"""Online lookup: a model's inputs by entity key, read from the environment's online store.

`aip serve` holds one lookup per dataset with `features` (pipelines/serving/_entities.py); a request
may then name entities (`{"instances": [{"tumour_id": 17}]}`) instead of sending the features. An
entity the online store does not hold is an error naming the key, never a row of missing values.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from pipelines.features.errors import EntityKeyError, FeatureStoreError, UnknownEntity

if TYPE_CHECKING:
    from pipelines.features.store import OpenedStore


class OnlineLookup:
    """Feature rows by entity key from one dataset's online store (thread-safe)."""

    def __init__(self, opened: OpenedStore) -> None:
        self.opened = opened
        self.dataset = opened.feature_repo.dataset
        self.entity_column = opened.feature_repo.config.entity_column
        self.feature_columns = list(opened.feature_repo.feature_columns)
        self._service = opened.store.get_feature_service(opened.feature_repo.service.name)
        self._lock = threading.Lock()  # Feast's SQLite connection is not shared across threads safely

    def rows(self, keys: list[Any], where: str = "instances") -> list[dict[str, float]]:
        """One {feature: value} per key, in order; UnknownEntity for keys with no row online."""
        for i, key in enumerate(keys):
            if isinstance(key, bool) or not isinstance(key, int):
                raise EntityKeyError(f"{where}[{i}]: {self.entity_column} must be an integer, got {key!r}")
        entity_rows = [{self.entity_column: key} for key in keys]
        try:
            with self._lock:
                found = self.opened.store.get_online_features(
                    features=self._service, entity_rows=entity_rows
                ).to_dict()
        except Exception as exc:
            raise FeatureStoreError(
                f"{self.dataset}: online store {self.opened.online} failed: {type(exc).__name__}: {exc}"
            ) from exc
        rows = [{name: found[name][i] for name in self.feature_columns} for i in range(len(keys))]
        unknown = [keys[i] for i, row in enumerate(rows) if any(v is None for v in row.values())]
        if unknown:
            hint = f"environment '{self.opened.env}'; `aip features materialize {self.dataset}` loads it"
            raise UnknownEntity(self.dataset, self.entity_column, unknown, hint)
        return rows
