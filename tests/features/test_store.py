"""Skew tests: the same entity and time give the same features offline (training) and online (serving),
on SQLite and on a real Redis; an unknown entity is an error naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.data import load_split
from pipelines.features import UnknownEntity, historical_frame, materialize, open_store
from pipelines.features.online import OnlineLookup
from pipelines.repo.layout import Repo
from tests.support.repo import copy_state, edit_yaml
from tests.support.services import redis_server

DATASET = "breast-cancer"
pytestmark = pytest.mark.integration


def _quiet(message: str) -> None:
    pass


def _offline_and_online(root: Path) -> tuple[object, list[dict[str, float]], list[int]]:
    """The test split read through get_historical_features, and the same ids read online."""
    repo = Repo(root)
    test = load_split(repo, DATASET, "test")
    opened = open_store(repo, DATASET)
    offline = historical_frame(opened, test, "label", "test split")
    materialize(repo, DATASET, progress=_quiet)
    ids = [int(i) for i in test["tumour_id"]]
    online = OnlineLookup(open_store(repo, DATASET)).rows(ids)
    return offline, online, ids


def _assert_same(offline: object, online: list[dict[str, float]], columns: list[str]) -> None:
    import pandas as pd

    assert isinstance(offline, pd.DataFrame)
    assert len(offline) == len(online) > 100
    for i, row in enumerate(online):
        assert [row[c] for c in columns] == offline.loc[i, columns].tolist(), f"row {i} differs"


def test_offline_and_online_give_the_same_features_for_the_same_entity(
    features_root: Path, tmp_path: Path
) -> None:
    root = copy_state(features_root, tmp_path / "repo")
    repo = Repo(root)
    columns = list(repo.dataset(DATASET).feature_columns or [])
    offline, online, ids = _offline_and_online(root)
    _assert_same(offline, online, columns)
    # and both are the split's own measurements: no join shifted a row onto another tumour
    test = load_split(repo, DATASET, "test")
    assert offline[columns].equals(test[columns])  # type: ignore[attr-defined]
    assert offline["tumour_id"].tolist() == ids  # type: ignore[index]


def test_an_unknown_entity_is_an_error_naming_the_key(features_root: Path, tmp_path: Path) -> None:
    root = copy_state(features_root, tmp_path / "repo")
    repo = Repo(root)
    materialize(repo, DATASET, progress=_quiet)
    lookup = OnlineLookup(open_store(repo, DATASET))
    with pytest.raises(
        UnknownEntity, match=r"unknown tumour_id 99999: not in the online store of breast-cancer"
    ):
        lookup.rows([1, 99999])
    assert len(lookup.rows([1, 2])) == 2


def test_the_point_in_time_join_never_reads_a_later_row(features_root: Path, tmp_path: Path) -> None:
    import pandas as pd

    root = copy_state(features_root, tmp_path / "repo")
    repo = Repo(root)
    opened = open_store(repo, DATASET)
    source = opened.feature_repo.source_path
    rows = pd.read_parquet(source)
    later = rows[rows["tumour_id"] == 1].copy()
    later["event_timestamp"] = pd.Timestamp("2001-01-01", tz="UTC")
    later["mean radius"] = 99.0  # a re-measurement six years later
    pd.concat([rows, later]).to_parquet(source, index=False)
    asked = pd.DataFrame(
        {
            "tumour_id": [1, 1],
            "event_timestamp": ["1995-11-01T00:00:00Z", "2001-06-01T00:00:00Z"],
            "label": ["x", "x"],
        }
    )
    frame = historical_frame(opened, asked, "label", "asked")
    assert frame["mean radius"].tolist() == [rows.loc[rows["tumour_id"] == 1, "mean radius"].item(), 99.0]


@pytest.mark.slow
def test_the_redis_online_store_serves_the_same_features(features_root: Path, tmp_path: Path) -> None:
    root = copy_state(features_root, tmp_path / "repo")
    with redis_server(tmp_path / "redis") as redis:

        def use_redis(data: dict) -> None:  # type: ignore[type-arg]
            data["environments"]["local"]["online_store"] = {
                "type": "redis",
                "connection_string": redis.address,
            }

        edit_yaml(root / "platform.yaml", use_redis)
        offline, online, _ = _offline_and_online(root)
        assert open_store(Repo(root), DATASET).online == f"redis {redis.address}"
        _assert_same(offline, online, list(Repo(root).dataset(DATASET).feature_columns or []))
        with pytest.raises(UnknownEntity, match="unknown tumour_id 99999"):
            OnlineLookup(open_store(Repo(root), DATASET)).rows([99999])
