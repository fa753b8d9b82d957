"""Materialisation: copy the feature views' latest values from the offline source into the online store.

    aip features materialize breast-cancer --env local            # up to now
    aip features materialize breast-cancer --end 2026-01-01T00:00:00Z

A view never materialised in this environment's registry is loaded from its source's earliest event
time (Feast's incremental mode would start a year ago, silently skipping older rows); after that,
`materialize_incremental` loads what is new since the last end time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pipelines.features.errors import FeatureStoreError
from pipelines.features.store import OpenedStore, open_store

if TYPE_CHECKING:
    from pipelines.repo.layout import Repo


@dataclass(frozen=True)
class Materialised:
    dataset: str
    env: str
    views: list[str]
    start: datetime | None  # None: incremental (from each view's last end time)
    end: datetime
    online: str
    seconds: float


def parse_end(text: str) -> datetime:
    """An ISO 8601 date or time as an aware UTC datetime (a naive one is taken as UTC)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FeatureStoreError(
            f"--end {text!r}: expected an ISO 8601 date or time, e.g. 2026-01-31T00:00:00Z"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def materialize(
    repo: Repo,
    dataset: str,
    env: str | None = None,
    end: datetime | None = None,
    progress: Callable[[str], None] = print,
) -> Materialised:
    """Apply the definitions, then materialise every feature view up to `end` (default: now)."""
    import time

    started = time.perf_counter()
    opened = open_store(repo, dataset, env)
    source = opened.feature_repo.source_path
    if not source.is_file():
        raise FeatureStoreError(
            f"{dataset}: the offline source {source} does not exist; run `aip data prepare {dataset}` first"
        )
    end = end or datetime.now(UTC)
    store = opened.store
    views = store.list_feature_views()
    fresh = [v.name for v in views if v.most_recent_end_time is None]
    known = [v.name for v in views if v.most_recent_end_time is not None]
    start = _earliest(opened) if fresh else None
    progress(
        f"features: {dataset}: materialising {len(views)} view(s) up to {end:%Y-%m-%dT%H:%M:%SZ} "
        f"into {opened.online}"
    )
    try:
        if fresh:
            assert start is not None
            if start >= end:
                raise FeatureStoreError(
                    f"{dataset}: --end {end:%Y-%m-%dT%H:%M:%SZ} is not after the source's earliest event "
                    f"time {start:%Y-%m-%dT%H:%M:%SZ}: nothing to materialise"
                )
            progress(
                f"features: {dataset}: first materialisation of {', '.join(fresh)} from {start:%Y-%m-%d}"
            )
            store.materialize(start_date=start, end_date=end, feature_views=fresh)
        if known:
            progress(f"features: {dataset}: incremental materialisation of {', '.join(known)}")
            store.materialize_incremental(end_date=end, feature_views=known)
    except FeatureStoreError:
        raise
    except Exception as exc:
        raise FeatureStoreError(
            f"{dataset}: materialisation into {opened.online} failed: {type(exc).__name__}: {exc}"
        ) from exc
    seconds = time.perf_counter() - started
    progress(f"features: {dataset}: materialised in {seconds:.1f}s")
    return Materialised(dataset, opened.env, [v.name for v in views], start, end, opened.online, seconds)


def _earliest(opened: OpenedStore) -> datetime:
    """The earliest event time in the offline source (one column read)."""
    import pandas as pd

    column = opened.feature_repo.config.timestamp_column
    times = pd.read_parquet(opened.feature_repo.source_path, columns=[column])[column]
    if times.empty:
        raise FeatureStoreError(
            f"{opened.feature_repo.dataset}: {opened.feature_repo.source_path} has no rows"
        )
    earliest: datetime = pd.Timestamp(times.min()).to_pydatetime()
    return earliest - timedelta(seconds=1)  # Feast's window starts after `start`: keep the earliest row
