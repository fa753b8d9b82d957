"""The one git wrapper of the engine: run a git command in a folder, get its output or a GitError."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pipelines.errors import AipError

__all__ = ["GitError", "git", "head_commit"]

# Commits made by the engine itself (scratch repositories) need an identity on machines with none.
_IDENTITY = ("-c", "user.email=aip@example.invalid", "-c", "user.name=aip")


class GitError(AipError):
    """A git command failed; the message names the command, the folder and git's own words."""


def git(root: Path, *args: str, identity: bool = False) -> str:
    """stdout of `git ARGS` run in `root`; `identity` supplies an author for commits."""
    command = ["git", *(_IDENTITY if identity else ()), *args]
    try:
        proc = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    except OSError as exc:  # git itself missing, or `root` not a folder
        raise GitError(f"git {' '.join(args)} could not run in {root}: {exc}") from None
    if proc.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed in {root}: {proc.stderr.strip()}")
    return proc.stdout


def head_commit(root: Path) -> str:
    """HEAD's sha, with `-dirty` when tracked files have uncommitted changes; 'unknown' outside git."""
    try:
        sha = git(root, "rev-parse", "HEAD").strip()
        dirty = git(root, "status", "--porcelain", "--untracked-files=no").strip()
    except GitError:
        return "unknown"
    return f"{sha}-dirty" if dirty else sha
