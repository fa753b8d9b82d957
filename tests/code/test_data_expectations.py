"""The expectations YAML loader: GX's format plus the rule that every check names what it guards."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import ConfigError
from pipelines.data.expectations import load_suite
from pipelines.repo.layout import Repo

REPO = Repo(Path(__file__).resolve().parents[2])


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "expectations.yaml"
    path.write_text(text)
    return path


def test_each_expectation_carries_the_comment_above_it(tmp_path: Path) -> None:
    suite = load_suite(
        _write(
            tmp_path,
            "name: s\nexpectations:\n"
            "  # missing values: an empty text\n"
            "  - type: expect_column_values_to_not_be_null\n    kwargs: {column: text}\n"
            "  # data leak: the same utterance twice\n  # (continued)\n"
            "  - type: expect_column_values_to_be_unique\n    kwargs: {column: text}\n",
        )
    )
    assert [(e.type, e.column, e.guards, e.line) for e in suite.expectations] == [
        ("expect_column_values_to_not_be_null", "text", "missing values: an empty text", 4),
        ("expect_column_values_to_be_unique", "text", "data leak: the same utterance twice (continued)", 8),
    ]


def test_an_expectation_without_a_comment_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "expectations:\n  # missing values\n  - type: expect_column_values_to_not_be_null\n"
        "    kwargs: {column: a}\n  - type: expect_column_values_to_be_unique\n    kwargs: {column: a}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_suite(path)
    assert f"{path}:5: expectations.1:" in str(caught.value)
    assert "no comment above it" in str(caught.value)


def test_an_unknown_key_in_an_expectation_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "expectations:\n  # guard\n  - type: expect_x\n    kwarg: {column: a}\n")
    with pytest.raises(ConfigError, match=r"expectations\.0\.kwarg: unknown key"):
        load_suite(path)


def test_a_type_that_is_not_an_expectation_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "expectations:\n  # guard\n  - type: not_null\n    kwargs: {column: a}\n")
    with pytest.raises(ConfigError, match=r"expectations\.0\.type: must name a GX expectation"):
        load_suite(path)


def test_an_empty_suite_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="non-empty list"):
        load_suite(_write(tmp_path, "name: s\nexpectations: []\n"))


def test_malformed_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "expectations:\n  - type: [unclosed\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+: malformed YAML"):
        load_suite(path)


@pytest.mark.parametrize("dataset", REPO.dataset_names())
def test_the_repo_suites_load_and_every_expectation_guards_a_named_failure(dataset: str) -> None:
    suite = load_suite(REPO.dataset_dir(dataset) / REPO.dataset(dataset).expectations)
    assert len(suite.expectations) >= 5
    assert all(":" in e.guards or len(e.guards.split()) >= 2 for e in suite.expectations)
