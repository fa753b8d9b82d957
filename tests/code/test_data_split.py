"""The split stage's core: deterministic, stratified, a partition of the rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.config import SplitConfig
from pipelines.data import DataError, load_split, split
from pipelines.data.split import split_frame
from pipelines.repo.layout import Repo


def _frame(counts: dict[str, int]) -> pd.DataFrame:
    rows = [(f"{label} utterance {i}", label) for label, n in counts.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["text", "label"])


def _cfg(**kwargs: object) -> SplitConfig:
    return SplitConfig(**{"seed": 7, "validation": 0.15, "test": 0.2, "stratify": True, **kwargs})


def _tiny_repo(root: Path, frame: pd.DataFrame) -> Repo:
    folder = root / "datasets" / "tiny"
    (folder / "data").mkdir(parents=True)
    (folder / "dataset.yaml").write_text(
        "name: tiny\ndescription: d\nlicense: MIT\nsource: s\nkind: text\ntext_column: text\n"
        "split: {seed: 3, validation: 0.2, test: 0.2}\n"
    )
    frame.to_csv(folder / "data" / "raw.csv", index=False)
    return Repo(root)


def test_same_rows_in_any_order_give_identical_splits() -> None:
    frame = _frame({"a": 40, "b": 25, "c": 9})
    first = split_frame(frame, _cfg(), "label")
    second = split_frame(frame.sample(frac=1.0, random_state=1), _cfg(), "label")
    for name in ("train", "validation", "test"):
        pd.testing.assert_frame_equal(first[name], second[name])


def test_each_class_keeps_its_proportion_in_every_split() -> None:
    parts = split_frame(_frame({"a": 100, "b": 40}), _cfg(), "label")
    assert parts["test"]["label"].value_counts().to_dict() == {"a": 20, "b": 8}
    assert parts["validation"]["label"].value_counts().to_dict() == {"a": 15, "b": 6}
    assert parts["train"]["label"].value_counts().to_dict() == {"a": 65, "b": 26}


def test_splits_partition_the_rows_without_overlap() -> None:
    frame = _frame({"a": 33, "b": 17})
    parts = split_frame(frame, _cfg(), "label")
    texts = [set(part["text"]) for part in parts.values()]
    assert sum(len(t) for t in texts) == len(frame)
    assert set().union(*texts) == set(frame["text"])


def test_a_different_seed_gives_a_different_split() -> None:
    frame = _frame({"a": 50, "b": 50})
    one = split_frame(frame, _cfg(seed=1), "label")["test"]
    two = split_frame(frame, _cfg(seed=2), "label")["test"]
    assert set(one["text"]) != set(two["text"])


def test_a_small_class_still_has_a_row_in_every_split() -> None:
    parts = split_frame(_frame({"big": 60, "rare": 3}), _cfg(), "label")
    for part in parts.values():
        assert "rare" in set(part["label"])


def test_unstratified_split_sizes_follow_the_fractions() -> None:
    parts = split_frame(_frame({"a": 90, "b": 10}), _cfg(stratify=False), "label")
    assert (len(parts["train"]), len(parts["validation"]), len(parts["test"])) == (65, 15, 20)


def test_a_missing_label_column_is_a_data_error() -> None:
    with pytest.raises(DataError, match="label column 'topic'"):
        split_frame(_frame({"a": 5}), _cfg(), "topic")


def test_split_rerun_writes_byte_identical_csvs(tmp_path: Path) -> None:
    repo = _tiny_repo(tmp_path, _frame({"x": 30, "y": 12}))
    first = {name: path.read_bytes() for name, path in split(repo, "tiny").items()}
    second = {name: path.read_bytes() for name, path in split(repo, "tiny").items()}
    assert first == second
    assert all(b"\r\n" not in data for data in first.values())


def test_load_split_reads_labels_as_strings(tmp_path: Path) -> None:
    repo = _tiny_repo(tmp_path, _frame({"1": 10, "2": 10}))
    split(repo, "tiny")
    assert load_split(repo, "tiny", "train")["label"].map(type).eq(str).all()


def test_load_split_names_the_prepare_command_when_missing(tmp_path: Path) -> None:
    repo = _tiny_repo(tmp_path, _frame({"a": 5}))
    with pytest.raises(DataError, match="aip data prepare tiny"):
        load_split(repo, "tiny", "train")


def test_load_split_rejects_an_unknown_split_name(tmp_path: Path) -> None:
    repo = _tiny_repo(tmp_path, _frame({"a": 5}))
    with pytest.raises(DataError, match="unknown split 'holdout'"):
        load_split(repo, "tiny", "holdout")
