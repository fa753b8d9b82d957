"""The checkout's root, and copies of it that tests may change.

Tests never touch the real checkout's state (.aip/) or data: they copy the repo's config files into a
temporary git repository and point `aip` at it with AIP_REPO.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.git import git

REPO_ROOT = Path(__file__).resolve().parents[2]

# What a fork's checkout holds that the engine reads (data and state are produced, not copied).
_COPY = [
    "platform.yaml",
    "models",
    "datasets",
    "prompts",
    "docs",  # whole: the platform-docs stage depends on the folder (its md5 in dvc.lock), not only on *.md
    "pipelines",
    "schemas",
    "requirements",
    ".dvc",
    ".dvcignore",
]
_IGNORE_NAMES = {"__pycache__", "config.local", "tmp", "cache"}


def _ignore(folder: str, names: list[str]) -> set[str]:
    """Skip caches and produced data (datasets/<name>/data), keep code folders such as pipelines/data."""
    ignored = {n for n in names if n in _IGNORE_NAMES}
    if Path(folder).parent.name == "datasets" and "data" in names:
        ignored.add("data")
    return ignored


def make_repo_copy(dest: Path) -> Path:
    """A fresh git repository holding the repo's configs, engine code and DVC setup."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in _COPY:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=_ignore)
        elif src.exists():
            shutil.copy2(src, dest / name)
    shutil.copy2(REPO_ROOT / ".gitignore", dest / ".gitignore")
    for path in documents_sources():  # what the platform-docs dataset ingests (docs/, READMEs)
        target = dest / path
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / path, target)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "fork")
    return dest


def tracked_files() -> list[str]:
    """The working tree as it would be pushed: tracked and new, not ignored files (`git ls-files -co`)."""
    out = git(REPO_ROOT, "ls-files", "-co", "--exclude-standard")
    return [line for line in out.splitlines() if (REPO_ROOT / line).is_file()]


def make_tree_copy(dest: Path) -> Path:
    """A plain copy (no git) of every file `tracked_files` lists: what a fork's clone holds."""
    for rel in tracked_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, target)
    return dest


def documents_sources() -> list[str]:
    """Repo paths the documents datasets' `ingest.include` globs match (their DVC stage deps)."""
    from pipelines.config import load_dataset
    from pipelines.data.documents import source_files

    paths: set[str] = set()
    for dataset_yaml in sorted((REPO_ROOT / "datasets").glob("*/dataset.yaml")):
        config = load_dataset(dataset_yaml)
        if config.kind != "documents":
            continue
        paths.update(str(p) for p in source_files(REPO_ROOT, config.ingest["include"]))
    return sorted(paths)


def copy_state(root: Path, dest: Path) -> Path:
    """A private copy of a repo copy with its state (git repo, data, DVC cache, MLflow store).

    A copy of the registry database is a private registry. Artifact URIs in it are absolute, so reads
    of the original's models, and writes of new runs in its experiments, go to the original's artifact
    folder: new runs get new ids there, so copies never collide.
    """
    shutil.copytree(root, dest, symlinks=True, ignore=shutil.ignore_patterns("work"))
    return dest


def edit_yaml(path: Path, change: Callable[[Any], object]) -> None:
    """Load a YAML file (comments kept), let `change` edit the data in place, write it back."""
    from ruamel.yaml import YAML

    yaml = YAML()
    data = yaml.load(path.read_text())
    change(data)
    with path.open("w") as handle:
        yaml.dump(data, handle)
