"""Config files: strict types, unknown keys and bad references name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_model, load_platform
from pipelines.config.schema import stale_schemas
from pipelines.repo.layout import Repo
from pipelines.repo.validate import validate_repo
from tests.support.cli import run_aip
from tests.support.repo import REPO_ROOT

MODEL = """\
name: tiny
description: d
owner: o
task: tabular-classification
dataset: breast-cancer
training:
  epochs: 3
"""


def write_model(root: Path, text: str, name: str = "tiny") -> Path:
    path = root / "models" / name / "model.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_model(path)
    return [str(p) for p in info.value.problems]


def test_every_config_in_the_repo_is_valid():
    assert validate_repo(Repo(REPO_ROOT)) == []


def test_committed_schemas_are_up_to_date():
    assert stale_schemas(REPO_ROOT / "schemas") == []


def test_unknown_key_names_file_line_key_and_suggests_the_allowed_one(tmp_path):
    path = write_model(tmp_path, MODEL.replace("  epochs: 3", "  epoch: 3"))
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:7: training.epoch: unknown key 'epoch' (did you mean 'epochs'?)")
    assert "allowed: seed, epochs, batch_size" in problem


def test_wrong_type_is_not_coerced(tmp_path):
    path = write_model(tmp_path, MODEL.replace("epochs: 3", 'epochs: "3"'))
    [problem] = problems_of(path)
    assert f"{path}:7: training.epochs: Input should be a valid integer (got '3')" == problem


def test_malformed_yaml_names_the_line(tmp_path):
    path = write_model(tmp_path, MODEL + "evaluation: [unclosed\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:") and "malformed YAML" in problem


def test_duplicate_key_is_an_error(tmp_path):
    path = write_model(tmp_path, MODEL + "owner: someone-else\n")
    [problem] = problems_of(path)
    assert "malformed YAML" in problem and "duplicate key" in problem


def test_unknown_task_lists_the_allowed_tasks(tmp_path):
    path = write_model(tmp_path, MODEL.replace("tabular-classification", "regression"))
    [problem] = problems_of(path)
    assert (
        ":4: task: unknown task 'regression'; allowed: text-classification, tabular-classification" in problem
    )


def test_gate_with_unknown_metric_names_the_list_item(tmp_path):
    text = MODEL + "evaluation:\n  gates:\n    - metric: acc\n      min: 0.5\n"
    path = write_model(tmp_path, text)
    [problem] = problems_of(path)
    assert f"{path}:10: evaluation.gates.0: unknown metric 'acc'" in problem
    assert "accuracy" in problem


def test_gate_needs_exactly_one_threshold(tmp_path):
    text = MODEL + "evaluation:\n  gates:\n    - metric: accuracy\n      min: 0.5\n      max: 0.9\n"
    [problem] = problems_of(write_model(tmp_path, text))
    assert "exactly one of min, max, max_regression" in problem


def test_name_must_equal_the_folder(tmp_path):
    path = write_model(tmp_path, MODEL, name="other")
    [problem] = problems_of(path)
    assert f"{path}:1: name: 'tiny' must equal its folder name 'other'" == problem


def test_all_problems_are_reported_at_once(tmp_path):
    text = MODEL.replace("epochs: 3", "epochs: 0\n  dropuot: 0.1")
    assert len(problems_of(write_model(tmp_path, text))) == 2


def test_platform_default_environment_must_exist(tmp_path):
    text = (
        (REPO_ROOT / "platform.yaml")
        .read_text()
        .replace("default_environment: local", "default_environment: qa")
    )
    path = tmp_path / "platform.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_platform(path)
    assert "default_environment 'qa' is not an environment (allowed: local, dev, staging, prod)" in str(
        info.value
    )


def test_reference_to_a_missing_dataset_fails_validate_with_file_line_and_key(repo_copy):
    path = repo_copy / "models" / "tumor-classifier" / "model.yaml"
    path.write_text(path.read_text().replace("dataset: breast-cancer", "dataset: breast-cancr"))
    result = run_aip(repo_copy, "validate")
    assert result.returncode == 2
    assert (
        "models/tumor-classifier/model.yaml:6: dataset: dataset 'breast-cancr' does not exist"
        in result.stderr
    )
    assert "have: breast-cancer, chatterbot-topics" in result.stderr


def test_environment_section_must_name_a_platform_environment(repo_copy):
    path = repo_copy / "models" / "tumor-classifier" / "model.yaml"
    path.write_text(path.read_text().replace("  staging: {}", "  stagin: {}"))
    result = run_aip(repo_copy, "validate")
    assert result.returncode == 2
    assert "environments.stagin: 'stagin' is not an environment in platform.yaml" in result.stderr


def test_cli_reports_bad_config_without_a_traceback(repo_copy):
    path = repo_copy / "models" / "tumor-classifier" / "model.yaml"
    path.write_text(path.read_text().replace("epochs: 60", "epochs: sixty"))
    result = run_aip(repo_copy, "validate")
    assert result.returncode == 2
    assert "training.epochs: Input should be a valid integer (got 'sixty')" in result.stderr
    assert "Traceback" not in result.stderr


def test_schema_check_fails_when_a_committed_schema_is_stale(repo_copy):
    (repo_copy / "schemas" / "model.schema.json").write_text("{}\n")
    result = run_aip(repo_copy, "schema", "--check")
    assert result.returncode == 1
    assert "model.schema.json" in result.stderr
    assert run_aip(repo_copy, "schema").returncode == 0
    assert run_aip(repo_copy, "schema", "--check").returncode == 0
