"""Data-quality tests on the real ingested datasets: the suites pass, splits do not leak, bytes are stable."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from ruamel.yaml import YAML

from pipelines.data import load_split
from pipelines.data.expectations import load_suite
from pipelines.data.validation import validate_frame
from pipelines.repo.layout import Repo
from tests.support.prepared import Prepared
from tests.support.repo import REPO_ROOT

DATASETS = Repo(REPO_ROOT).dataset_names()
# Split datasets (text, tabular); a documents dataset ends in an index instead (tests/vectors).
SPLIT = [d for d in DATASETS if Repo(REPO_ROOT).dataset(d).kind != "documents"]
SPLITS = ("train", "validation", "test")


def _row_keys(repo: Repo, dataset: str, frame: pd.DataFrame) -> set[tuple[object, ...]]:
    """What identifies an example: the text for text data, every feature for tabular data (not the
    feature store's keys: an id is unique by construction and would hide a duplicated tumour)."""
    cfg = repo.dataset(dataset)
    inputs = [c for c in frame.columns if c not in (cfg.label_column, *cfg.key_columns)]
    columns = [cfg.text_column] if cfg.text_column else inputs
    return set(frame[columns].itertuples(index=False, name=None))


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_suite_passes_on_the_real_data(prepared: Prepared, dataset: str) -> None:
    report = prepared.reports[dataset]
    assert report.success, report.summary()


@pytest.mark.parametrize("dataset", SPLIT)
def test_no_example_is_in_two_splits(prepared: Prepared, dataset: str) -> None:
    keys = {
        name: _row_keys(prepared.repo, dataset, load_split(prepared.repo, dataset, name)) for name in SPLITS
    }
    assert not keys["train"] & keys["test"]
    assert not keys["train"] & keys["validation"]
    assert not keys["validation"] & keys["test"]


@pytest.mark.parametrize("dataset", SPLIT)
def test_the_splits_hold_every_ingested_row_exactly_once(prepared: Prepared, dataset: str) -> None:
    raw = pd.read_csv(
        prepared.repo.dataset_dir(dataset) / "data" / "raw.csv", keep_default_na=False, na_values=[""]
    )
    parts = [load_split(prepared.repo, dataset, name) for name in SPLITS]
    assert sum(len(p) for p in parts) == len(raw)


@pytest.mark.parametrize("dataset", SPLIT)
def test_every_class_is_in_every_split_in_its_proportion(prepared: Prepared, dataset: str) -> None:
    cfg = prepared.repo.dataset(dataset)
    train = load_split(prepared.repo, dataset, "train")[cfg.label_column].value_counts(normalize=True)
    test = load_split(prepared.repo, dataset, "test")[cfg.label_column].value_counts(normalize=True)
    assert set(train.index) == set(test.index)
    assert (train - test).abs().max() < 0.03


@pytest.mark.parametrize("dataset", DATASETS)
def test_ingest_reproduces_the_bytes_recorded_in_the_committed_lock(prepared: Prepared, dataset: str) -> None:
    lock = YAML(typ="safe").load((REPO_ROOT / "datasets" / dataset / "dvc.lock").read_text())
    recorded = next(o["md5"] for o in lock["stages"]["ingest"]["outs"] if o["path"] == "data/raw.csv")
    raw = prepared.repo.dataset_dir(dataset) / "data" / "raw.csv"
    assert hashlib.md5(raw.read_bytes()).hexdigest() == recorded, "dvc.lock is stale: run `aip data prepare`"


def test_chatterbot_drops_topics_too_small_to_split(prepared: Prepared) -> None:
    train = load_split(prepared.repo, "chatterbot-topics", "train")
    assert {"health", "history"}.isdisjoint(set(train["label"]))


def _suite(dataset: str) -> list:  # type: ignore[type-arg]
    return load_suite(REPO_ROOT / "datasets" / dataset / "expectations.yaml").expectations


def _raw(prepared: Prepared, dataset: str) -> pd.DataFrame:
    path: Path = prepared.repo.dataset_dir(dataset) / "data" / "raw.csv"
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"label": str, "text": str})


def test_the_breast_cancer_suite_catches_a_unit_change(prepared: Prepared) -> None:
    frame = _raw(prepared, "breast-cancer")
    frame["mean radius"] *= 10  # mm instead of cm
    report = validate_frame(frame, _suite("breast-cancer"), dataset="breast-cancer")
    failed = {(f.expectation, f.column) for f in report.failed}
    assert ("expect_column_values_to_be_between", "mean radius") in failed
    assert "unit change upstream: radius in mm not cm" in report.summary()


def test_the_chatterbot_suite_catches_an_utterance_under_two_topics(prepared: Prepared) -> None:
    frame = _raw(prepared, "chatterbot-topics")
    leaked = pd.concat([frame, pd.DataFrame({"text": [frame.loc[0, "text"]], "label": ["sports"]})])
    report = validate_frame(leaked, _suite("chatterbot-topics"), dataset="chatterbot-topics")
    assert [(f.expectation, f.column) for f in report.failed] == [
        ("expect_column_values_to_be_unique", "text")
    ]
    assert "data leak" in report.summary()
