"""Trial values from the space, and writing the winners into model.yaml with everything else kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_model
from pipelines.config.search import Search
from pipelines.repo.layout import Repo
from pipelines.tune import default_study_name, shares, write_training
from pipelines.tune.space import baseline, decode
from pipelines.tune.write import format_value
from tests.support.repo import REPO_ROOT


def _search(**space: dict[str, object]) -> Search:
    return Search.model_validate({"space": space})


def test_local_workers_split_the_trials_evenly() -> None:
    assert shares(20, 1) == [20]
    assert shares(20, 3) == [7, 7, 6]
    assert shares(2, 4) == [1, 1]


def test_a_list_choice_travels_as_json_and_comes_back_a_list() -> None:
    search = _search(hidden_sizes={"type": "categorical", "choices": [[32], [64, 32]]})
    assert decode(search.space["hidden_sizes"], "[64, 32]") == [64, 32]
    assert baseline(search, {"hidden_sizes": [64, 32]}) == {"hidden_sizes": "[64, 32]"}


def test_floats_are_rounded_to_what_model_yaml_will_hold() -> None:
    param = _search(learning_rate={"type": "float", "low": 1e-4, "high": 1e-2, "log": True}).space[
        "learning_rate"
    ]
    assert decode(param, 0.0023456789) == 0.00235
    assert decode(param, 0.0099999) == 0.01  # rounding stays inside the range


def test_baseline_keeps_only_current_values_inside_the_space() -> None:
    search = _search(
        learning_rate={"type": "float", "low": 1e-4, "high": 1e-2},
        batch_size={"type": "categorical", "choices": [16, 64]},
    )
    assert baseline(search, {"learning_rate": 1e-3, "batch_size": 32}) == {"learning_rate": 1e-3}


def test_the_default_study_name_changes_with_the_space_not_with_the_searched_values() -> None:
    config = Repo(REPO_ROOT).model("tumor-classifier")
    name = default_study_name(config)
    assert name.startswith("tumor-classifier-") and name == default_study_name(config)
    tuned = config.model_copy(
        update={"training": config.training.model_copy(update={"learning_rate": 0.005})}
    )
    assert default_study_name(tuned) == name
    slower = config.model_copy(update={"training": config.training.model_copy(update={"epochs": 7})})
    assert default_study_name(slower) != name


def test_floats_are_written_so_that_yaml_reads_them_back_as_floats() -> None:
    assert format_value(2.5e-05) == "2.5e-5"
    assert format_value(1e-06) == "1.0e-6"
    assert format_value(0.00234) == "0.00234"
    assert format_value([64, 32]) == "[64, 32]"


def _copy(tmp_path: Path, model: str) -> Path:
    path = tmp_path / model / "model.yaml"
    path.parent.mkdir()
    shutil.copy2(REPO_ROOT / "models" / model / "model.yaml", path)
    return path


def test_write_changes_only_the_training_lines_and_keeps_their_comments(tmp_path: Path) -> None:
    path = _copy(tmp_path, "topic-classifier")
    before = path.read_text().splitlines()
    write_training(path, {"learning_rate": 0.000123, "dropout": 0.25})
    after = path.read_text().splitlines()
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert [new.split("#")[0].strip() for _, new in changed] == ["learning_rate: 0.000123", "dropout: 0.25"]
    assert changed[0][1].endswith("# encoder; 8e-5 over 3 epochs gave test macro-F1 0.66, this 0.72")
    assert changed[0][0].index("#") == changed[0][1].index("#")  # the comment keeps its column
    training = load_model(path).training
    assert (training.learning_rate, training.dropout) == (0.000123, 0.25)


def test_write_handles_lists_and_keys_the_file_did_not_set(tmp_path: Path) -> None:
    path = _copy(tmp_path, "tumor-classifier")
    write_training(path, {"hidden_sizes": [128, 64], "max_train_samples": 200, "weight_decay": 1.21e-06})
    text = path.read_text()
    assert "  hidden_sizes: [128, 64]\n" in text and "  weight_decay: 1.21e-6\n" in text
    assert "# a team of platform.yaml's organisation.teams" in text
    training = load_model(path).training
    assert training.hidden_sizes == [128, 64] and training.max_train_samples == 200


def test_a_value_model_yaml_refuses_leaves_the_file_untouched(tmp_path: Path) -> None:
    path = _copy(tmp_path, "tumor-classifier")
    before = path.read_text()
    with pytest.raises(ConfigError, match=r"training\.dropout"):
        write_training(path, {"dropout": 1.5})
    assert path.read_text() == before
