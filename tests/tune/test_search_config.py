"""model.yaml's `search` section: a bad space is an error naming the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_model
from pipelines.repo.layout import Repo
from pipelines.tune.space import direction
from tests.support.repo import REPO_ROOT


def _model_with_search(tmp_path: Path, search: str) -> Path:
    text = (REPO_ROOT / "models" / "tumor-classifier" / "model.yaml").read_text()
    start = text.index("\nsearch:")
    end = text.index("\nevaluation:")
    path = tmp_path / "tumor-classifier" / "model.yaml"
    path.parent.mkdir()
    path.write_text(text[:start] + "\n" + search.strip("\n") + text[end:])
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_model(path)
    return str(caught.value)


def test_the_shipped_models_declare_valid_searches() -> None:
    repo = Repo(REPO_ROOT)
    for name in repo.model_names():
        search = repo.model(name).search
        assert search is not None and search.space, name


def test_an_unknown_parameter_names_its_line_and_the_allowed_ones(tmp_path: Path) -> None:
    path = _model_with_search(tmp_path, "search:\n  space:\n    lr: {type: float, low: 0.1, high: 1.0}\n")
    message = _error(path)
    assert f"{path.name}:" in message and "search.space.lr:" in message
    assert "'lr' is not a training parameter" in message and "learning_rate" in message
    line = next(
        n for n, text in enumerate(path.read_text().splitlines(), 1) if text.strip().startswith("lr:")
    )
    assert f"model.yaml:{line}: search.space.lr:" in message


def test_an_empty_or_inverted_range_is_an_error(tmp_path: Path) -> None:
    path = _model_with_search(
        tmp_path, "search:\n  space:\n    learning_rate: {type: float, low: 0.01, high: 0.001}\n"
    )
    message = _error(path)
    assert "search.space.learning_rate:" in message and "empty range" in message


def test_a_value_the_training_field_refuses_is_an_error(tmp_path: Path) -> None:
    path = _model_with_search(
        tmp_path, "search:\n  space:\n    dropout: {type: float, low: 0.0, high: 1.0}\n"
    )
    message = _error(path)
    assert "search.space.dropout:" in message and "training.dropout" in message


def test_a_list_parameter_is_searched_as_choices_of_whole_lists(tmp_path: Path) -> None:
    good = _model_with_search(
        tmp_path, "search:\n  space:\n    hidden_sizes: {type: categorical, choices: [[32], [64, 32]]}\n"
    )
    assert load_model(good).search is not None
    bad = tmp_path / "bad"
    bad.mkdir()
    path = _model_with_search(
        bad, "search:\n  space:\n    hidden_sizes: {type: categorical, choices: [32, 64]}\n"
    )
    assert "search.space.hidden_sizes:" in _error(path)


def test_a_direction_against_the_metric_is_an_error(tmp_path: Path) -> None:
    path = _model_with_search(
        tmp_path,
        "search:\n  metric: log_loss\n  direction: maximize\n  space:\n"
        "    dropout: {type: float, low: 0.0, high: 0.5}\n",
    )
    assert "contradicts log_loss" in _error(path)


def test_the_direction_follows_the_metric(tmp_path: Path) -> None:
    path = _model_with_search(
        tmp_path, "search:\n  metric: roc_auc\n  space:\n    dropout: {type: float, low: 0.0, high: 0.5}\n"
    )
    search = load_model(path).search
    assert search is not None and direction(search) == "maximize"
