"""`aip features`: help, and failures that say what to do, with a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_aip


def test_every_features_command_has_help(repo_copy: Path) -> None:
    for command in ("export", "apply", "materialize"):
        result = run_aip(repo_copy, "features", command, "--help")
        assert result.returncode == 0 and "usage: aip features " + command in result.stdout


def test_a_dataset_without_features_is_refused_naming_those_with_them(repo_copy: Path) -> None:
    result = run_aip(repo_copy, "features", "apply", "chatterbot-topics")
    assert result.returncode != 0
    assert "no feature store for dataset(s) chatterbot-topics; datasets with `features`: breast-cancer" in (
        result.stderr
    )


@pytest.mark.slow
@pytest.mark.integration
def test_materialize_before_the_data_is_prepared_says_to_prepare_it(repo_copy: Path) -> None:
    result = run_aip(repo_copy, "features", "materialize", "breast-cancer")
    assert result.returncode == 1
    assert "tumours.parquet does not exist; run `aip data prepare breast-cancer` first" in result.stderr
    assert "Traceback" not in result.stderr
