"""git in a test's scratch repository: the engine's wrapper, with an author for commits."""

from __future__ import annotations

from pathlib import Path

from pipelines.git import git as engine_git


def git(root: Path, *args: str) -> str:
    """stdout of `git ARGS` in `root`, stripped; commits get an author (CI machines may have none).

    Raises pipelines.git.GitError (naming the command and git's message) when git fails."""
    return engine_git(root, *args, identity=True).strip()


def commit(root: Path, name: str, text: str, message: str) -> str:
    """Write `text` to `root/name`, commit it; returns the new HEAD's short sha."""
    (root / name).write_text(text)
    git(root, "add", name)
    git(root, "commit", "-qm", message)
    return git(root, "rev-parse", "--short", "HEAD")
