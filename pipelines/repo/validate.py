"""`aip validate`: every config file in the repo, and the references between them.

All problems are collected before reporting, so one run shows everything to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.config import ConfigError, Problem, line_of, load_yaml
from pipelines.repo.layout import Repo

DVC_STAGES = {
    "text": ("ingest", "validate", "split"),
    "tabular": ("ingest", "validate", "split"),
    "documents": ("ingest", "validate", "index"),  # a documents dataset ends in a vector index
}
TASK_KIND = {"text-classification": "text", "tabular-classification": "tabular"}


def _collect(problems: list[Problem], fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None


def validate_repo(repo: Repo, *, raise_on_error: bool = False) -> list[Problem]:
    problems: list[Problem] = []
    platform = _collect(problems, lambda: repo.platform)
    datasets = {}
    for name in repo.dataset_names():
        config = _collect(problems, repo.dataset, name)
        if config is not None:
            datasets[name] = config
            problems.extend(_dataset_files(repo, name, config.expectations, DVC_STAGES[config.kind]))
    for name in repo.model_names():
        config = _collect(problems, repo.model, name)
        if config is None:
            continue
        path = repo.model_dir(name) / "model.yaml"
        _, tree = load_yaml(path)
        if config.dataset not in datasets and config.dataset not in repo.dataset_names():
            allowed = ", ".join(repo.dataset_names()) or "none"
            problems.append(
                Problem(
                    path,
                    line_of(tree, ("dataset",)),
                    "dataset",
                    f"dataset '{config.dataset}' does not exist under datasets/ (have: {allowed})",
                )
            )
        elif config.dataset in datasets and datasets[config.dataset].kind != TASK_KIND[config.task]:
            problems.append(
                Problem(
                    path,
                    line_of(tree, ("task",)),
                    "task",
                    f"task '{config.task}' needs a {TASK_KIND[config.task]} dataset; "
                    f"'{config.dataset}' is {datasets[config.dataset].kind}",
                )
            )
        # model cards (pipelines/cards): a `card:` section without intended_use fails to parse above
        label = datasets[config.dataset].label_column if config.dataset in datasets else None
        if config.card is not None and label in config.card.slices:
            problems.append(
                Problem(
                    path,
                    line_of(tree, ("card", "slices")),
                    "card.slices",
                    f"'{label}' is the label column: the card always reports per-class metrics; "
                    "name other columns of the test split (a sensitive attribute, a region)",
                )
            )
        if platform is not None:
            for env in config.environments:
                if env not in platform.environments:
                    allowed = ", ".join(platform.environments)
                    problems.append(
                        Problem(
                            path,
                            line_of(tree, ("environments", env)),
                            f"environments.{env}",
                            f"'{env}' is not an environment in platform.yaml (allowed: {allowed})",
                        )
                    )
    for name in repo.prompt_names():
        problems.extend(_prompt_problems(repo, name, datasets))
    if raise_on_error and problems:
        raise ConfigError(problems)
    return problems


def _prompt_problems(repo: Repo, name: str, datasets: dict[str, Any]) -> list[Problem]:
    """prompt.yaml (templates render, variables declared and used), cases.yaml, its dataset."""
    from pipelines.config import load_cases, load_prompt

    problems: list[Problem] = []
    path = repo.prompt_dir(name) / "prompt.yaml"
    config = _collect(problems, load_prompt, path)
    if config is None:
        return problems
    _collect(problems, load_cases, repo.prompt_dir(name) / config.evaluation.cases)
    dataset = config.retrieval.dataset
    _, tree = load_yaml(path)
    where = line_of(tree, ("retrieval", "dataset"))
    if dataset not in repo.dataset_names():
        allowed = ", ".join(repo.dataset_names()) or "none"
        problems.append(
            Problem(
                path,
                where,
                "retrieval.dataset",
                f"dataset '{dataset}' does not exist under datasets/ (have: {allowed})",
            )
        )
    elif dataset in datasets and datasets[dataset].kind != "documents":
        problems.append(
            Problem(
                path,
                where,
                "retrieval.dataset",
                f"'{dataset}' is a {datasets[dataset].kind} dataset; retrieval needs kind documents",
            )
        )
    return problems


def _dataset_files(repo: Repo, name: str, expectations: str, stages_wanted: tuple[str, ...]) -> list[Problem]:
    folder = repo.dataset_dir(name)
    problems = []
    config_file = folder / "dataset.yaml"
    if not (folder / "ingest.py").is_file():
        problems.append(Problem(config_file, None, "", "ingest.py is missing beside dataset.yaml"))
    suite = folder / expectations
    if not suite.is_file():
        problems.append(
            Problem(config_file, None, "expectations", f"expectation suite {suite.name} not found")
        )
    else:
        problems.extend(_suite_shape(suite))
    dvc_file = folder / "dvc.yaml"
    if not dvc_file.is_file():
        problems.append(
            Problem(dvc_file, None, "", f"dvc.yaml is missing (stages: {', '.join(stages_wanted)})")
        )
    else:
        try:
            data, tree = load_yaml(dvc_file)
        except ConfigError as exc:
            return problems + exc.problems
        stages = (data or {}).get("stages") or {}
        for stage in stages_wanted:
            if stage not in stages:
                problems.append(
                    Problem(
                        dvc_file,
                        line_of(tree, ("stages",)),
                        f"stages.{stage}",
                        f"stage '{stage}' is missing (expected: {', '.join(stages_wanted)})",
                    )
                )
    return problems


def _suite_shape(path: Path) -> list[Problem]:
    """The suite file's shape, checked without importing Great Expectations (seconds)."""
    try:
        data, tree = load_yaml(path)
    except ConfigError as exc:
        return exc.problems
    expectations = data.get("expectations") if isinstance(data, dict) else None
    if not isinstance(expectations, list) or not expectations:
        return [Problem(path, 1, "expectations", "expected a non-empty list of expectations")]
    problems = []
    for i, item in enumerate(expectations):
        if not isinstance(item, dict) or not str(item.get("type", "")).startswith("expect_"):
            problems.append(
                Problem(
                    path,
                    line_of(tree, ("expectations", i)),
                    f"expectations.{i}.type",
                    "each expectation needs a type starting with 'expect_'",
                )
            )
        elif not isinstance(item.get("kwargs", {}), dict):
            problems.append(
                Problem(
                    path,
                    line_of(tree, ("expectations", i, "kwargs")),
                    f"expectations.{i}.kwargs",
                    "kwargs must be a mapping",
                )
            )
    return problems
