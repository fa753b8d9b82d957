"""`aip ci plan`: pull requests plan the affected models; deploys plan every model (level-based) and
name the environment, its runner (ARC scale set or labels), whether it trains and needs approval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.gitops.plan import plan, runs_on
from pipelines.repo.layout import Repo
from tests.support.repo import edit_yaml, make_repo_copy

MODELS = ["topic-classifier", "tumor-classifier"]


@pytest.fixture(scope="module")
def fork(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo copy whose tumour model card changed since `main` (read-only)."""
    root = make_repo_copy(tmp_path_factory.mktemp("plan") / "repo")
    card = root / "models" / "tumor-classifier" / "model.yaml"
    card.write_text(card.read_text().replace("description:", "description: changed;", 1))
    return root


def matrix(outputs: dict[str, str]) -> list[str]:
    return [entry["model"] for entry in json.loads(outputs["matrix"])["include"]]


def test_a_pull_request_plans_only_the_affected_models(fork: Path):
    outputs = plan(Repo(fork), "main")
    assert matrix(outputs) == ["tumor-classifier"] and outputs["models"] == "true"
    assert "environment" not in outputs and "runner" not in outputs and "train" not in outputs


def test_a_pull_request_that_touches_no_model_plans_none(tmp_path: Path):
    outputs = plan(Repo(make_repo_copy(tmp_path / "repo")), "main")
    assert outputs["models"] == "false" and matrix(outputs) == ["none"]


@pytest.mark.parametrize("base", ["main", None, "0" * 40])
def test_a_deploy_plans_every_model_whatever_changed_since_the_last_push(fork: Path, base: str | None):
    outputs = plan(Repo(fork), base, env="env/staging")
    assert matrix(outputs) == MODELS and outputs["models"] == "true"
    untouched = plan(Repo(fork), "HEAD", head="HEAD", env="dev")  # an empty diff: still every model
    assert matrix(untouched) == MODELS


@pytest.mark.parametrize(
    ("env", "name", "runner", "train", "approval", "nxt"),
    [
        ("env/dev", "dev", "aip-dev-gpu", "true", "false", "staging"),
        ("env/staging", "staging", "aip-staging-gpu", "false", "false", "prod"),
        ("env/prod", "prod", "aip-prod-gpu", "false", "true", ""),
        ("prod", "prod", "aip-prod-gpu", "false", "true", ""),
    ],
)
def test_a_deploy_names_the_platform_environment_its_runner_and_whether_it_trains(
    fork: Path, env: str, name: str, runner: str, train: str, approval: str, nxt: str
):
    outputs = plan(Repo(fork), "main", env=env)
    assert outputs["environment"] == name  # never the branch name env/<name>
    assert json.loads(outputs["runner"]) == runner  # ARC scale sets are selected by name
    assert (outputs["train"], outputs["requires_approval"], outputs["next_environment"]) == (
        train,
        approval,
        nxt,
    )


def test_without_a_scale_set_the_runner_is_the_labels(tmp_path: Path):
    root = make_repo_copy(tmp_path / "repo")
    edit_yaml(root / "platform.yaml", lambda d: d["environments"]["dev"].pop("runner"))
    outputs = plan(Repo(root), "main", env="env/dev")
    assert json.loads(outputs["runner"]) == ["self-hosted", "linux", "x64", "gpu"]
    assert json.loads(plan(Repo(root), "main", env="local")["runner"]) == ["ubuntu-24.04"]
    assert runs_on("x-gpu", ["a"]) == '"x-gpu"' and runs_on(None, []) == '["ubuntu-24.04"]'


def test_the_platform_schema_documents_runner_and_train():
    schema = json.loads(
        (Path(__file__).resolve().parents[2] / "schemas" / "platform.schema.json").read_text()
    )
    fields = schema["$defs"]["Environment"]["properties"]
    assert "scale set" in fields["runner"]["description"]
    assert "train" in fields and "never retrained" in fields["train"]["description"]
    assert fields["train"]["default"] is True


def test_the_runner_names_are_the_scale_sets_infra_creates():
    """infra/modules/gpu-runners names the scale set `<name>-gpu`, with aws-platform's name
    `<prefix>-<environment>` (prefix `aip`): platform.yaml's `runner` must be that name."""
    root = Path(__file__).resolve().parents[2]
    module = (root / "infra" / "modules" / "gpu-runners" / "main.tf").read_text()
    assert 'scale_set_name   = "${var.name}-gpu"' in module
    platform = (root / "infra" / "modules" / "aws-platform" / "main.tf").read_text()
    assert (
        'id         = "${var.name}-${var.environment}"' in platform
        and "name              = local.id" in platform
    )
    repo = Repo(root)
    for env in repo.platform.promotion_order:
        assert repo.platform.environments[env].runner == f"aip-{env}-gpu"
