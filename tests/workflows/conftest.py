"""Fixtures for the GitOps tests: real git repositories in temporary folders, and the tools venv."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.git import commit, git
from tests.support.repo import REPO_ROOT

TOOLS = REPO_ROOT / ".venv-tools" / "bin"


@pytest.fixture
def env_repo(tmp_path: Path) -> Path:
    """main with two commits; env/dev, env/staging, env/prod created from main (a fresh fork)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit(root, "platform.txt", "v1\n", "first")
    commit(root, "model.txt", "v1\n", "second")
    for env in ("dev", "staging", "prod"):
        git(root, "branch", f"env/{env}")
    return root


@pytest.fixture(scope="session")
def tools() -> Path:
    if not (TOOLS / "actionlint").exists():
        subprocess.run(["make", "tools-venv"], cwd=REPO_ROOT, check=True, capture_output=True)
    return TOOLS
