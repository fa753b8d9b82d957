"""`aip affected`: which models, datasets, ... a git diff touches."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.repo.affected import affected
from pipelines.repo.layout import Repo
from tests.support.cli import run_aip
from tests.support.git import git


def touch(root: Path, relative: str, text: str = "x\n") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_model_config_touches_that_model_only(repo_copy):
    result = affected(Repo(repo_copy), ["models/tumor-classifier/model.yaml"])
    assert result.models == {"tumor-classifier"} and not result.datasets


def test_dataset_touches_the_models_that_read_it(repo_copy):
    result = affected(Repo(repo_copy), ["datasets/chatterbot-topics/expectations.yaml"])
    assert result.datasets == {"chatterbot-topics"}
    assert result.models == {"topic-classifier"}


def test_pipeline_code_touches_every_model_and_dataset(repo_copy):
    repo = Repo(repo_copy)
    result = affected(repo, ["pipelines/train/loop.py"])
    assert result.models == set(repo.model_names())
    assert result.datasets == set(repo.dataset_names())


def test_docs_touch_the_documents_dataset_and_the_prompt_that_retrieves_from_it(repo_copy):
    """docs/ and the READMEs are the platform-docs DVC inputs: the assistant must be re-evaluated."""
    result = affected(Repo(repo_copy), ["README.md", "docs/architecture.md"]).as_dict()
    assert result["datasets"] == ["platform-docs"] and result["prompts"] == ["platform-assistant"]
    assert result["models"] == []


def test_a_file_outside_every_dataset_touches_nothing(repo_copy):
    result = affected(Repo(repo_copy), ["LICENSE", "scripts/lock.sh"]).as_dict()
    assert result["any"] is False
    assert result["matrix"] == {"include": [{"kind": "none", "name": "none"}]}


def test_a_prompt_file_touches_that_prompt_and_pipeline_code_every_prompt(repo_copy):
    repo = Repo(repo_copy)
    assert affected(repo, ["prompts/platform-assistant/system.txt"]).prompts == {"platform-assistant"}
    assert affected(repo, ["pipelines/prompts/assistant.py"]).prompts == set(repo.prompt_names())


def test_infra_module_touches_the_roots_that_use_it(repo_copy):
    touch(
        repo_copy,
        "infra/envs/dev/main.tf",
        'module "storage" {\n  source = "../../modules/object-storage"\n}\n',
    )
    touch(repo_copy, "infra/envs/prod/main.tf", 'module "net" {\n  source = "../../modules/network"\n}\n')
    result = affected(
        Repo(repo_copy), ["infra/modules/object-storage/main.tf", "infra/envs/prod/variables.tf"]
    )
    assert result.infra_roots == {"infra/envs/dev", "infra/envs/prod"}


def test_dashboards_and_workflows(repo_copy):
    touch(repo_copy, "dashboards/serving.dashboard.py")
    touch(repo_copy, "dashboards/canary.dashboard.py")
    repo = Repo(repo_copy)
    assert affected(repo, ["dashboards/serving.dashboard.py"]).dashboards == {"serving"}
    assert affected(repo, ["dashboards/_style.py"]).dashboards == {"serving", "canary"}
    assert affected(repo, [".github/workflows/pr.yml"]).workflows is True


def test_cli_diffs_against_the_merge_base_and_prints_a_matrix(repo_copy):
    git(repo_copy, "checkout", "-q", "-b", "feature")
    path = repo_copy / "models" / "tumor-classifier" / "model.yaml"
    path.write_text(path.read_text().replace("epochs: 60", "epochs: 61"))
    touch(repo_copy, "models/tumor-classifier/notes.md")  # untracked files count too
    result = run_aip(repo_copy, "affected", "--base", "main")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["models"] == ["tumor-classifier"]
    assert out["matrix"]["include"] == [{"kind": "model", "name": "tumor-classifier"}]
    assert sorted(out["files"]) == ["models/tumor-classifier/model.yaml", "models/tumor-classifier/notes.md"]


def test_cli_with_an_unknown_base_fails_clearly(repo_copy):
    result = run_aip(repo_copy, "affected", "--base", "no-such-ref")
    assert result.returncode == 1
    assert "git merge-base no-such-ref HEAD failed" in result.stderr
