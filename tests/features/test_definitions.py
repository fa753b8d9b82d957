"""The feature repo and its configuration: mistakes are refused with the file, the key and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.config import ConfigError
from pipelines.features import FeatureStoreError, load_feature_repo
from pipelines.features.store import store_yaml
from pipelines.repo.layout import Repo
from tests.support.repo import REPO_ROOT, edit_yaml

DATASET = "breast-cancer"
DEFINITIONS = Path("datasets") / DATASET / "features" / "definitions.py"


def _copy(tmp_path: Path) -> Path:
    """The config files and the feature repo of the repo, enough for Repo and load_feature_repo."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("platform.yaml", "models", "prompts"):
        src = REPO_ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / name)  # type: ignore[operator]
    shutil.copytree(REPO_ROOT / "datasets", root / "datasets", ignore=shutil.ignore_patterns("data"))
    return root


def test_the_repo_feature_repo_loads_and_serves_exactly_the_model_inputs() -> None:
    repo = Repo(REPO_ROOT)
    feature_repo = load_feature_repo(repo, DATASET)
    cfg = repo.dataset(DATASET)
    assert feature_repo.service.name == "tumor_classifier"
    assert feature_repo.feature_columns == cfg.feature_columns
    assert len(feature_repo.feature_columns) == 30
    assert cfg.key_columns == ["tumour_id", "event_timestamp"]


def test_the_entity_and_timestamp_are_never_training_inputs() -> None:
    import pandas as pd

    from pipelines.train.trainer import _feature_columns

    cfg = Repo(REPO_ROOT).dataset(DATASET)
    frame = pd.DataFrame(columns=[*(cfg.feature_columns or []), "label", "tumour_id", "event_timestamp"])
    inputs = _feature_columns(cfg, frame)
    assert "tumour_id" not in inputs and "event_timestamp" not in inputs and len(inputs) == 30


def test_a_feature_view_without_a_timestamp_field_is_refused_naming_the_file(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / DEFINITIONS
    path.write_text(path.read_text().replace('    timestamp_field="event_timestamp",\n', ""))
    with pytest.raises(FeatureStoreError) as caught:
        load_feature_repo(Repo(root), DATASET)
    message = str(caught.value)
    assert str(path) in message
    assert "feature view 'tumour_measurements'" in message
    assert "no timestamp_field" in message and "timestamp_field='event_timestamp'" in message


def test_a_feature_service_missing_a_model_input_is_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / DEFINITIONS
    text = path.read_text().replace(
        "    features=[tumour_measurements],", '    features=[tumour_measurements[["mean radius"]]],'
    )
    path.write_text(text)
    with pytest.raises(
        FeatureStoreError, match=r"must serve exactly dataset\.yaml's feature_columns"
    ) as caught:
        load_feature_repo(Repo(root), DATASET)
    assert "'mean texture'" in str(caught.value) and str(path) in str(caught.value)


def test_features_without_feature_columns_are_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    edit_yaml(root / "datasets" / DATASET / "dataset.yaml", lambda d: d.pop("feature_columns"))
    with pytest.raises(ConfigError, match="features requires feature_columns"):
        Repo(root).dataset(DATASET)


def test_a_key_column_among_the_inputs_is_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    edit_yaml(
        root / "datasets" / DATASET / "dataset.yaml", lambda d: d["feature_columns"].append("tumour_id")
    )
    with pytest.raises(ConfigError, match="must not hold the key or label column"):
        Repo(root).dataset(DATASET)


def test_the_redis_store_names_the_password_variable_never_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo(_copy(tmp_path))
    monkeypatch.setenv("AIP_REDIS_PASSWORD", "s3cret-value")
    text, words = store_yaml(repo, load_feature_repo(repo, DATASET), "prod")
    assert "password=${AIP_REDIS_PASSWORD}" in text
    assert "s3cret-value" not in text
    assert words == "redis aip-prod-features.cache.internal:6379,ssl=true"


def test_the_redis_store_without_its_password_variable_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo(_copy(tmp_path))
    monkeypatch.delenv("AIP_REDIS_PASSWORD", raising=False)
    with pytest.raises(
        FeatureStoreError, match=r"environments\.dev\.online_store\.password_env: .*AIP_REDIS_PASSWORD"
    ):
        store_yaml(repo, load_feature_repo(repo, DATASET), "dev")
    text, _ = store_yaml(
        repo, load_feature_repo(repo, DATASET), "dev", online=False
    )  # training: offline only
    assert "${AIP_REDIS_PASSWORD}" in text


def test_a_password_in_the_connection_string_is_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path)

    def leak(data: dict) -> None:  # type: ignore[type-arg]
        data["environments"]["dev"]["online_store"]["connection_string"] = "redis:6379,password=hunter2"

    edit_yaml(root / "platform.yaml", leak)
    with pytest.raises(ConfigError, match="must not hold a password"):
        Repo(root).platform  # noqa: B018
