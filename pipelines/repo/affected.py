"""`aip affected --base REF`: what a change touches, as JSON a GitHub Actions matrix takes.

Rules (a path may match several):
- models/<m>/**                → model m
- datasets/<d>/**              → dataset d, every model trained on it, every prompt retrieving from it
- a file outside datasets/<d>/ that d's dvc.yaml stages depend on (docs/**, READMEs for the
  platform-docs dataset) → dataset d, and its models and prompts
- prompts/<p>/**               → prompt p
- dashboards/<x>.dashboard.py  → dashboard x; any other file under dashboards/ → every dashboard
- infra/envs/<e>/**            → that root; infra/modules/<mod>/** → every root using the module
- pipelines/**, pyproject.toml, requirements/** → every model, dataset and prompt (engine or dependencies)
- platform.yaml                → every model and prompt (environments changed)
- .github/workflows/**         → workflows
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pipelines.git import git as run_git
from pipelines.repo.layout import Repo

ENGINE_PATHS = ("pipelines/", "pyproject.toml", "requirements/")
_MODULE_SOURCE = re.compile(r'source\s*=\s*"[./]*/modules/([A-Za-z0-9_-]+)"')


@dataclass
class Affected:
    models: set[str] = field(default_factory=set)
    datasets: set[str] = field(default_factory=set)
    prompts: set[str] = field(default_factory=set)
    dashboards: set[str] = field(default_factory=set)
    infra_roots: set[str] = field(default_factory=set)
    workflows: bool = False
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        matrix = [{"kind": "model", "name": m} for m in sorted(self.models)]
        matrix += [{"kind": "dataset", "name": d} for d in sorted(self.datasets)]
        matrix += [{"kind": "prompt", "name": p} for p in sorted(self.prompts)]
        return {
            "models": sorted(self.models),
            "datasets": sorted(self.datasets),
            "prompts": sorted(self.prompts),
            "dashboards": sorted(self.dashboards),
            "infra_roots": sorted(self.infra_roots),
            "workflows": self.workflows,
            "any": bool(
                self.models
                or self.datasets
                or self.prompts
                or self.dashboards
                or self.infra_roots
                or self.workflows
            ),
            # `include: []` is not a valid matrix; a one-entry placeholder keeps jobs skippable.
            "matrix": {"include": matrix or [{"kind": "none", "name": "none"}]},
            "files": self.files,
        }


def changed_files(repo: Repo, base: str, head: str | None = None) -> list[str]:
    """Files that differ between the merge base of `base` and `head` (default: the work tree)."""

    def git(*args: str) -> str:
        return run_git(repo.root, *args)

    target = head or "HEAD"
    merge_base = git("merge-base", base, target).strip()
    if head:
        files = git("diff", "--name-only", merge_base, head).splitlines()
    else:
        files = git("diff", "--name-only", merge_base).splitlines()
        files += git("ls-files", "--others", "--exclude-standard").splitlines()
    return sorted(set(files))


def affected(repo: Repo, files: list[str]) -> Affected:
    result = Affected(files=files)
    models = repo.model_names()
    datasets = repo.dataset_names()
    prompts = repo.prompt_names()
    readers = {d: {m for m in models if _dataset_of(repo, m) == d} for d in datasets}
    prompt_readers = {d: {p for p in prompts if _prompt_dataset_of(repo, p) == d} for d in datasets}
    outside = {d: _outside_deps(repo, d) for d in datasets}
    for path in files:
        parts = path.split("/")
        for dataset, deps in outside.items():
            if any(path == dep or path.startswith(dep + "/") for dep in deps):
                result.datasets.add(dataset)
                result.models.update(readers[dataset])
                result.prompts.update(prompt_readers[dataset])
        if path.startswith(ENGINE_PATHS):
            result.models.update(models)
            result.datasets.update(datasets)
            result.prompts.update(prompts)
        elif path == "platform.yaml":
            result.models.update(models)
            result.prompts.update(prompts)
        elif parts[0] == "models" and len(parts) > 2 and parts[1] in models:
            result.models.add(parts[1])
        elif parts[0] == "datasets" and len(parts) > 2 and parts[1] in datasets:
            result.datasets.add(parts[1])
            result.models.update(readers[parts[1]])
            result.prompts.update(prompt_readers[parts[1]])
        elif parts[0] == "prompts" and len(parts) > 2:
            result.prompts.add(parts[1])
        elif parts[0] == "dashboards":
            if len(parts) == 2 and path.endswith(".dashboard.py"):
                result.dashboards.add(parts[1].removesuffix(".dashboard.py"))
            else:
                result.dashboards.update(repo.dashboard_names())
        elif parts[:2] == ["infra", "envs"] and len(parts) > 3:
            result.infra_roots.add("/".join(parts[:3]))
        elif parts[:2] == ["infra", "modules"] and len(parts) > 3:
            result.infra_roots.update(_roots_using(repo, parts[2]))
        elif parts[:2] == [".github", "workflows"]:
            result.workflows = True
    return result


def _dataset_of(repo: Repo, model: str) -> str | None:
    from pipelines.config import ConfigError

    try:
        return repo.model(model).dataset
    except ConfigError:
        return None  # a broken model.yaml is `aip validate`'s to report


def _prompt_dataset_of(repo: Repo, prompt: str) -> str | None:
    from pipelines.config import ConfigError, load_prompt

    try:
        return load_prompt(repo.prompt_dir(prompt) / "prompt.yaml").retrieval.dataset
    except ConfigError:
        return None  # `aip validate` reports it


def _outside_deps(repo: Repo, dataset: str) -> set[str]:
    """Repo paths outside datasets/<d>/ and the engine that d's DVC stages depend on."""
    from pipelines.config import load_yaml

    folder = repo.dataset_dir(dataset)
    dvc_yaml = folder / "dvc.yaml"
    if not dvc_yaml.is_file():
        return set()
    data, _ = load_yaml(dvc_yaml)
    deps = set()
    for stage in (data or {}).get("stages", {}).values():
        for dep in stage.get("deps", []):
            dep = next(iter(dep)) if isinstance(dep, dict) else str(dep)
            path = (folder / dep).resolve()
            try:
                rel = path.relative_to(repo.root.resolve()).as_posix()
            except ValueError:
                continue
            if not rel.startswith(("datasets/", *ENGINE_PATHS)):
                deps.add(rel)
    return deps


def _roots_using(repo: Repo, module: str) -> set[str]:
    roots = set()
    for root in repo.infra_roots():
        for tf in (repo.root / root).glob("*.tf"):
            if module in _MODULE_SOURCE.findall(tf.read_text(encoding="utf-8")):
                roots.add(root)
    return roots
