"""The feature store's errors: each names the dataset and the file or key involved."""

from __future__ import annotations

from pipelines.errors import AipError


class FeatureStoreError(AipError):
    """A feature repo, its offline source or an online store cannot be used; the message says why."""


class EntityKeyError(FeatureStoreError):
    """A request's entity keys are unusable: not integers, or not in the online store."""


class UnknownEntity(EntityKeyError):
    """Entity keys with no row in the online store (never materialised, or no such entity)."""

    def __init__(self, dataset: str, column: str, keys: list[object], hint: str) -> None:
        shown = ", ".join(map(repr, keys[:5])) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        super().__init__(f"unknown {column} {shown}: not in the online store of {dataset} ({hint})")
        self.column = column
        self.keys = keys
