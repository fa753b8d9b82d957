"""Shared fixtures: a private copy of the repository for tests that change files or state.

Tests never touch the real checkout's state (.aip/) or data: they copy the repo's config
files into a temporary git repository and point `aip` at it with AIP_REPO.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.offline import apply_offline_env

REPO_ROOT = Path(__file__).resolve().parent.parent
AIP = [sys.executable, "-m", "pipelines"]

apply_offline_env()  # offline and quiet, as in the Makefile
os.environ.pop("AIP_TRACKING_URI", None)
os.environ.pop("AIP_REPO", None)

# What a fork's checkout holds that the engine reads (data and state are produced, not copied).
_COPY = ["platform.yaml", "models", "datasets", "pipelines", "schemas", "requirements", ".dvc", ".dvcignore"]
_IGNORE_NAMES = {"__pycache__", "config.local", "tmp", "cache"}


def _ignore(folder: str, names: list[str]) -> set[str]:
    """Skip caches and produced data (datasets/<name>/data), keep code folders such as pipelines/data."""
    ignored = {n for n in names if n in _IGNORE_NAMES}
    if Path(folder).parent.name == "datasets" and "data" in names:
        ignored.add("data")
    return ignored


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return proc.stdout


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
    git(dest, "init", "-q", "-b", "main")
    git(dest, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "add", "-A")
    git(dest, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "fork")
    return dest


def run_aip(root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 900):
    """Run the real CLI in a subprocess against `root`."""
    full_env = {**os.environ, "AIP_REPO": str(root), **(env or {})}
    return subprocess.run(
        [*AIP, *args], cwd=root, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )


@functools.cache
def prepared_root() -> Path:
    """A repo copy whose datasets went through ingest → validate → split, made once per session.

    A clean clone has no `datasets/*/data` (DVC outputs are git-ignored); tests that read splits take
    them from here, never from the checkout, so they pass on a fresh machine.
    """
    from pipelines.data import ingest, split, validate
    from pipelines.repo.layout import Repo

    folder = Path(tempfile.mkdtemp(prefix="aip-prepared-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    repo = Repo(make_repo_copy(folder / "repo"))
    for name in repo.dataset_names():
        ingest(repo, name)
        validate(repo, name)  # its report stays in data/validation.json; tests/data asserts it passed
        split(repo, name)
    return repo.root


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    return make_repo_copy(tmp_path / "repo")


@pytest.fixture
def aip_repo(repo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A repo copy that in-process calls (Repo.discover) resolve to."""
    monkeypatch.setenv("AIP_REPO", str(repo_copy))
    yield repo_copy
