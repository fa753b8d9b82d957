"""`aip affected --base REF`: what a change touches, as JSON a GitHub Actions matrix takes.

Rules (a path may match several):
- models/<m>/**                → model m
- datasets/<d>/**              → dataset d and every model trained on it
- prompts/<p>/**               → prompt p
- dashboards/<x>.dashboard.py  → dashboard x; any other file under dashboards/ → every dashboard
- infra/envs/<e>/**            → that root; infra/modules/<mod>/** → every root using the module
- pipelines/**, pyproject.toml, requirements/** → every model and dataset (engine or dependencies)
- platform.yaml                → every model (environments changed)
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
    readers = {d: {m for m in models if _dataset_of(repo, m) == d} for d in datasets}
    for path in files:
        parts = path.split("/")
        if path.startswith(ENGINE_PATHS):
            result.models.update(models)
            result.datasets.update(datasets)
        elif path == "platform.yaml":
            result.models.update(models)
        elif parts[0] == "models" and len(parts) > 2 and parts[1] in models:
            result.models.add(parts[1])
        elif parts[0] == "datasets" and len(parts) > 2 and parts[1] in datasets:
            result.datasets.add(parts[1])
            result.models.update(readers[parts[1]])
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


def _roots_using(repo: Repo, module: str) -> set[str]:
    roots = set()
    for root in repo.infra_roots():
        for tf in (repo.root / root).glob("*.tf"):
            if module in _MODULE_SOURCE.findall(tf.read_text(encoding="utf-8")):
                roots.add(root)
    return roots
