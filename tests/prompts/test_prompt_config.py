"""prompt.yaml and cases.yaml: the shipped prompt loads; every kind of bad input names file, line, key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_cases, load_prompt
from pipelines.config.prompt_template import TemplateError, render, template_variables
from pipelines.repo.layout import Repo
from pipelines.repo.validate import validate_repo
from tests.support.repo import REPO_ROOT, edit_yaml

SHIPPED = REPO_ROOT / "prompts" / "platform-assistant"


@pytest.fixture
def prompt_dir(tmp_path: Path) -> Path:
    dest = tmp_path / "platform-assistant"
    shutil.copytree(SHIPPED, dest)
    return dest


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_prompt(path)
    return [str(p) for p in caught.value.problems]


def test_the_shipped_prompt_and_cases_load() -> None:
    config = load_prompt(SHIPPED / "prompt.yaml")
    cases = load_cases(SHIPPED / config.evaluation.cases)
    assert config.retrieval.dataset == "platform-docs"
    assert set(config.variables) == {"question", "context"}
    assert any(c.expect.refuses for c in cases.cases) and any(c.json_mode for c in cases.cases)


def test_an_undeclared_variable_names_the_template_variable(prompt_dir: Path) -> None:
    (prompt_dir / "user.txt").write_text("{{ question }} in {{ language }}\n")
    [problem] = problems_of(prompt_dir / "prompt.yaml")
    assert "prompt.yaml" in problem and "variables" in problem and "'{{ language }}'" in problem


def test_a_declared_variable_no_template_uses_is_an_error(prompt_dir: Path) -> None:
    edit_yaml(prompt_dir / "prompt.yaml", lambda d: d["variables"].__setitem__("tone", "unused"))
    [problem] = problems_of(prompt_dir / "prompt.yaml")
    assert "variables.tone" in problem and "no template uses it" in problem


def test_a_broken_placeholder_names_the_template_line(prompt_dir: Path) -> None:
    (prompt_dir / "system.txt").write_text("Context:\n{{ context }\n{{ question }}\n")
    problems = problems_of(prompt_dir / "prompt.yaml")
    assert any("system.txt:2" in p and "broken placeholder" in p for p in problems)


def test_a_missing_template_file_and_cases_file(prompt_dir: Path) -> None:
    (prompt_dir / "user.txt").unlink()
    assert any(
        "template.user" in p and "no file user.txt" in p for p in problems_of(prompt_dir / "prompt.yaml")
    )
    shutil.copy(SHIPPED / "user.txt", prompt_dir / "user.txt")
    (prompt_dir / "cases.yaml").unlink()
    assert any("evaluation.cases" in p for p in problems_of(prompt_dir / "prompt.yaml"))


def test_gates_may_name_only_prompt_metrics(prompt_dir: Path) -> None:
    edit_yaml(
        prompt_dir / "prompt.yaml",
        lambda d: d["evaluation"]["gates"].append({"metric": "accuracy", "min": 0.5}),
    )
    problems = problems_of(prompt_dir / "prompt.yaml")
    assert any("unknown metric 'accuracy'" in p and "recall_at_k" in p for p in problems)


def test_unknown_key_suggests_the_right_one(prompt_dir: Path) -> None:
    edit_yaml(prompt_dir / "prompt.yaml", lambda d: d["retrieval"].__setitem__("top_k", 3))
    problems = problems_of(prompt_dir / "prompt.yaml")
    assert any("retrieval.top_k" in p and "allowed:" in p for p in problems)


def test_cases_need_labelled_questions(tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text("retrieval: []\ncases:\n  - {name: x, question: y, expect: {refuses: true}}\n")
    with pytest.raises(ConfigError) as caught:
        load_cases(path)
    assert any(p.key == "retrieval" for p in caught.value.problems)


def test_render_fills_every_placeholder_and_refuses_a_missing_value() -> None:
    assert template_variables("{{a}} and {{ b }}") == {"a", "b"}
    assert (
        render("{{a}} and {{ b }}", {"a": "1", "b": "{{c}}"}) == "1 and {{c}}"
    )  # values are not re-rendered
    with pytest.raises(TemplateError, match="no value for b"):
        render("{{a}} {{b}}", {"a": "1"})


def test_validate_reports_a_prompt_on_a_dataset_that_is_not_documents(repo_copy: Path) -> None:
    shutil.copytree(SHIPPED, repo_copy / "prompts" / "platform-assistant", dirs_exist_ok=True)
    edit_yaml(
        repo_copy / "prompts" / "platform-assistant" / "prompt.yaml",
        lambda d: d["retrieval"].__setitem__("dataset", "chatterbot-topics"),
    )
    problems = [str(p) for p in validate_repo(Repo(repo_copy))]
    assert any("retrieval.dataset" in p and "retrieval needs kind documents" in p for p in problems)
