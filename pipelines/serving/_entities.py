"""TF Serving API extension: name an entity instead of sending its features (docs/features.md).

For a model whose dataset has a Feast feature store (dataset.yaml `features`), a :predict or :classify
row may be the entity key alone, `{"instances": [{"tumour_id": 17}]}` (or columnar
`{"inputs": {"tumour_id": [17, 18]}}`); the server reads that entity's features from the environment's
online store and predicts on them. An entity the store does not hold answers 400 naming the key.

The store is opened on a background thread when such a model loads, so startup and requests that
send features never wait for Feast; models without a feature store never import it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from pipelines.serving._logging import event
from pipelines.serving.errors import Code, ServingError

if TYPE_CHECKING:
    from pipelines.features import OnlineLookup
    from pipelines.repo.layout import Repo

__all__ = ["FeatureLookups", "expand_entities"]

OPEN_TIMEOUT = 120.0  # seconds an entity request waits for the store to open (Feast import, registry)


class FeatureLookups:
    """One online lookup per dataset with `features`, opened once, in the background."""

    def __init__(self, repo: Repo, env: str) -> None:
        self.repo = repo
        self.env = env
        self._lock = threading.Lock()
        self._futures: dict[str, Future[OnlineLookup]] = {}

    def for_model(self, model: str) -> Future[OnlineLookup] | None:
        """The lookup (a future) of `model`'s dataset; None when its dataset has no feature store."""
        dataset = self.repo.model(model).dataset
        if self.repo.dataset(dataset).features is None:
            return None
        with self._lock:
            future = self._futures.get(dataset)
            if future is None:
                future = self._futures[dataset] = Future()
                threading.Thread(
                    target=self._open, args=(dataset, future), name=f"features-{dataset}", daemon=True
                ).start()
        return future

    def _open(self, dataset: str, future: Future[OnlineLookup]) -> None:
        try:
            from pipelines.features import OnlineLookup, open_store

            lookup = OnlineLookup(open_store(self.repo, dataset, self.env))
        except Exception as exc:  # reported to every entity request, and logged once here
            event("feature_store_unavailable", logging.WARNING, dataset=dataset, error=str(exc))
            future.set_exception(exc)
            return
        event("feature_store_opened", dataset=dataset, online_store=lookup.opened.online)
        future.set_result(lookup)


def _key_rows(rows: Any, key: str, what: str) -> list[Any] | None:
    """The entity keys if every row is `{key: value}`; None if no row names the key (plain features)."""
    if not isinstance(rows, list) or not any(isinstance(r, Mapping) and key in r for r in rows):
        return None
    keys = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping) or set(row) != {key}:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"{what}[{i}]: send either the entity key alone ({{{key!r}: id}}) or all the features, "
                "the same in every row",
            )
        keys.append(row[key])
    return keys


async def expand_entities(future: Future[OnlineLookup], data: Any) -> Any:
    """`data` (a decoded request body) with entity-key rows replaced by their features from the online
    store; unchanged when no row names the entity key."""
    if not isinstance(data, Mapping):
        return data
    lookup = future.result() if future.done() and future.exception() is None else None
    if lookup is None:  # opening (or failed): a body that cannot name an entity never waits for it
        if not _mentions_any_key(data):
            return data
        lookup = await _lookup(future)
    key = lookup.entity_column
    columnar = data.get("inputs")
    if isinstance(columnar, Mapping) and key in columnar:
        keys = columnar[key]
        if set(columnar) != {key} or not isinstance(keys, list) or not keys:
            raise ServingError(
                Code.INVALID_ARGUMENT, f"inputs: send either {{{key!r}: [ids]}} alone or the features"
            )
        rows = await _rows(lookup, keys, f"inputs[{key!r}]")
        return {**data, "inputs": {name: [row[name] for row in rows] for name in lookup.feature_columns}}
    for field in ("instances", "examples"):
        keys = _key_rows(data.get(field), key, field)
        if keys is not None:
            return {**data, field: await _rows(lookup, keys, field)}
    return data


def _mentions_any_key(data: Mapping[str, Any]) -> bool:
    """Whether a body could name an entity: a row (or columnar input) with a single key."""
    columnar = data.get("inputs")
    if isinstance(columnar, Mapping) and len(columnar) == 1:
        return True
    return any(
        isinstance(rows, list) and any(isinstance(r, Mapping) and len(r) == 1 for r in rows)
        for rows in (data.get("instances"), data.get("examples"))
    )


async def _lookup(future: Future[OnlineLookup]) -> OnlineLookup:
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), OPEN_TIMEOUT)
    except TimeoutError:
        raise ServingError(Code.UNAVAILABLE, "the feature store is still opening; retry") from None
    except Exception as exc:
        raise ServingError(Code.UNAVAILABLE, f"the feature store cannot be opened: {exc}") from None


async def _rows(lookup: OnlineLookup, keys: list[Any], what: str) -> list[dict[str, float]]:
    from pipelines.features import EntityKeyError, FeatureStoreError

    try:
        return await asyncio.to_thread(lookup.rows, keys, what)
    except EntityKeyError as exc:  # the request's fault: an unknown key, or not an integer
        raise ServingError(Code.INVALID_ARGUMENT, str(exc)) from None
    except FeatureStoreError as exc:  # the store's: unreachable, failing
        raise ServingError(Code.UNAVAILABLE, str(exc)) from None
