"""Read a config file into its typed model; every error names file, line and key."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pipelines.config._yaml import line_of, load_yaml
from pipelines.config.dataset import DatasetConfig
from pipelines.config.errors import ConfigError, Problem
from pipelines.config.model import TASKS, TabularClassifierConfig, TextClassifierConfig
from pipelines.config.platform import PlatformConfig
from pipelines.config.prompt import Cases, PromptConfig
from pipelines.config.prompt_template import check_template, template_variables

M = TypeVar("M", bound=BaseModel)


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names allowed at `loc` (the parent of an unknown key), walking nested models."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _inner_model(field.annotation)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel inside list[X], dict[str, X], X | None ..., if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _problems(path: Path, tree: Any, model: type[BaseModel], exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc)
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            message = f"unknown key '{loc[-1]}'"
            if hint:
                message += f" (did you mean '{hint[0]}'?)"
            message += f"; allowed: {', '.join(allowed)}"
        elif err["type"] == "missing":
            message = "required key is missing"
        elif "input" in err and err["type"] not in ("value_error", "assertion_error"):
            message += f" (got {err['input']!r})"
        message = message.removeprefix("Value error, ")
        problems.append(Problem(path, line_of(tree, loc), key, message))
    return problems


def _validate(path: Path, model: type[M], data: Any, tree: Any) -> M:
    if not isinstance(data, dict):
        raise ConfigError([Problem(path, 1, "", "expected a mapping at the top level")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_problems(path, tree, model, exc)) from None


def _check_name_matches_folder(path: Path, tree: Any, name: str) -> None:
    if name != path.parent.name:
        line = line_of(tree, ("name",))
        raise ConfigError(
            [Problem(path, line, "name", f"'{name}' must equal its folder name '{path.parent.name}'")]
        )


def load_platform(path: Path) -> PlatformConfig:
    data, tree = load_yaml(path)
    return _validate(path, PlatformConfig, data, tree)


def load_dataset(path: Path) -> DatasetConfig:
    data, tree = load_yaml(path)
    config = _validate(path, DatasetConfig, data, tree)
    _check_name_matches_folder(path, tree, config.name)
    return config


def load_model(path: Path) -> TextClassifierConfig | TabularClassifierConfig:
    data, tree = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError([Problem(path, 1, "", "expected a mapping at the top level")])
    task = data.get("task")
    if task not in TASKS:
        allowed = ", ".join(TASKS)
        message = "required key is missing" if task is None else f"unknown task {task!r}"
        raise ConfigError([Problem(path, line_of(tree, ("task",)), "task", f"{message}; allowed: {allowed}")])
    config = _validate(path, TASKS[task], data, tree)
    _check_name_matches_folder(path, tree, config.name)
    return config  # type: ignore[return-value]


def load_prompt(path: Path) -> PromptConfig:
    """prompt.yaml, with its template files: each exists, renders, and uses exactly the declared variables."""
    data, tree = load_yaml(path)
    config = _validate(path, PromptConfig, data, tree)
    _check_name_matches_folder(path, tree, config.name)
    problems = []
    for role in ("system", "user"):
        key = ("template", role)
        file = path.parent / getattr(config.template, role)
        if not file.is_file():
            problems.append(
                Problem(path, line_of(tree, key), ".".join(key), f"no file {file.name} in {path.parent}")
            )
            continue
        problems += [Problem(file, line, "", message) for line, message in check_template(file.read_text())]
    if problems:
        raise ConfigError(problems)
    declared = set(config.variables)
    used = set().union(
        *(
            template_variables((path.parent / f).read_text())
            for f in (config.template.system, config.template.user)
        )
    )
    for name in sorted(used - declared):
        problems.append(
            Problem(
                path,
                line_of(tree, ("variables",)),
                "variables",
                f"template uses '{{{{ {name} }}}}', which is not declared",
            )
        )
    for name in sorted(declared - used):
        problems.append(
            Problem(
                path,
                line_of(tree, ("variables", name)),
                f"variables.{name}",
                "declared but no template uses it",
            )
        )
    cases = path.parent / config.evaluation.cases
    if not cases.is_file():
        problems.append(
            Problem(
                path,
                line_of(tree, ("evaluation", "cases")),
                "evaluation.cases",
                f"no file {cases.name} in {path.parent}",
            )
        )
    if problems:
        raise ConfigError(problems)
    return config


def load_cases(path: Path) -> Cases:
    data, tree = load_yaml(path)
    return _validate(path, Cases, data, tree)
