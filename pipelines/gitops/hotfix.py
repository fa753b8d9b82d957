"""`aip ci hotfix --env prod COMMIT...`: commits already on main, into one environment, now.

The hotfix path (ADR 0022): a fix is merged into `main` first (reviewed, tested), then carried to the
environment that needs it without promoting every unreleased change of main:

    aip ci hotfix --env prod 1a2b3c4            # a commit (or the merge commit of its PR) of main

1. `hotfix/<E>-<short sha>` is made from env/<E>'s tip, and the commits are cherry-picked onto it in
   the order given (`git cherry-pick -x`: each message names the commit of main it copies). A merge
   commit of main stands for the commits its pull request brought; commits env/<E> already has, or
   an equivalent of, are skipped. A conflict stops everything: nothing is pushed.
2. The environment-branch guard checks the result (`aip guard branch`: every commit is
   patch-equivalent to one of main), it is pushed, and a pull request into env/<E> is opened with the
   label `hotfix`, which the guard needs. Its checks run (pr.yml); merging it deploys (deploy.yml).
Without GITHUB_TOKEN/GITHUB_REPOSITORY the branch is pushed and the PR is left to open by hand;
`--no-push` only makes the branch locally. The cherry-picks happen in a temporary worktree: the
checkout you run this in is not touched.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.git import GitError, git
from pipelines.github import GitHub
from pipelines.gitops import GuardError
from pipelines.gitops.guard import ENV_PREFIX, HOTFIX_LABEL, HOTFIX_PREFIX, check_branch
from pipelines.repo.layout import Repo

__all__ = ["Hotfix", "hotfix"]


@dataclass
class Hotfix:
    branch: str
    base: str
    picked: list[str] = field(default_factory=list)  # "<sha of main> <subject>", in order
    skipped: list[str] = field(default_factory=list)  # already on the environment branch
    pushed: bool = False
    pull_request: str = ""  # "#12 https://..." when opened or updated

    def body(self) -> str:
        lines = [
            f"Hotfix of **{self.base}** with commits already on `main` (cherry-picked with `-x`), "
            "without promoting the rest of main. The guard checks that every commit here is "
            "patch-equivalent to one of main; merging deploys it (deploy.yml).",
            "",
            "### Commits",
            "",
            *(f"- {line}" for line in self.picked),
        ]
        if self.skipped:
            lines += ["", f"Already in {self.base} (skipped):", "", *(f"- {line}" for line in self.skipped)]
        lines += [
            "",
            "The next regular promotion brings the same changes from main; nothing else to undo.",
            "Opened by `aip ci hotfix` (ADR 0022).",
        ]
        return "\n".join(lines)


def _ref(root: Path, remote: str | None, branch: str) -> str:
    """`<remote>/<branch>` when the remote has it (fetched), else the local branch; error if neither."""
    for ref in ([f"{remote}/{branch}"] if remote else []) + [branch]:
        try:
            git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
            return ref
        except GitError:
            continue
    raise GuardError(f"{branch} is not a branch here{f' nor on {remote}' if remote else ''} (fetch it first)")


def _commits(root: Path, given: list[str], main: str) -> list[str]:
    """Full shas of the non-merge commits to pick, in order; merges of main expand to their PR's commits."""
    out: list[str] = []
    for name in given:
        try:
            sha = git(root, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}").strip()
        except GitError:
            raise GuardError(f"{name} is not a commit here (fetch main first?)") from None
        try:
            git(root, "merge-base", "--is-ancestor", sha, main)
        except GitError:
            raise GuardError(
                f"{name} is not on {main}: a hotfix carries commits of main only (merge the fix into main "
                "through a pull request first)"
            ) from None
        parents = git(root, "rev-list", "--parents", "-n", "1", sha).split()[1:]
        if len(parents) > 1:  # a merge commit: the commits its pull request brought
            out += git(root, "rev-list", "--reverse", "--no-merges", f"{parents[0]}..{sha}").split()
        else:
            out.append(sha)
    return list(dict.fromkeys(out))


def hotfix(
    repo: Repo,
    env: str,
    commits: list[str],
    *,
    remote: str | None = "origin",
    push: bool = True,
    github: GitHub | None = None,
) -> Hotfix:
    root = repo.root
    env = env.removeprefix(ENV_PREFIX)
    order = repo.platform.promotion_order
    if env not in order:
        raise GuardError(
            f"{env} is not an environment with a branch (platform.yaml promotes: {', '.join(order)})"
        )
    if not commits:
        raise GuardError("name at least one commit of main to carry")
    remotes = git(root, "remote").split()
    remote = remote if remote in remotes else None
    if remote is not None:
        git(root, "fetch", "--quiet", remote, "main", f"{ENV_PREFIX}{env}")
    main, base_ref = _ref(root, remote, "main"), _ref(root, remote, ENV_PREFIX + env)
    picks = _commits(root, commits, main)
    tip = git(root, "rev-parse", base_ref).strip()
    first = git(root, "rev-parse", "--short", commits[0]).strip()
    result = Hotfix(f"{HOTFIX_PREFIX}{env}-{first}", ENV_PREFIX + env)
    todo = []
    for sha in picks:
        line = git(root, "log", "-1", "--format=%h %s", sha).strip()
        # `git cherry TIP SHA SHA^`: "-" when TIP already has SHA or an equivalent of it
        mark = git(root, "cherry", tip, sha, f"{sha}^").split()
        if not mark or mark[0] == "-":
            result.skipped.append(line)
        else:
            todo.append(sha)
            result.picked.append(line)
    if not todo:
        raise GuardError(f"{result.base} already has every commit given: nothing to hotfix")
    work = Path(tempfile.mkdtemp(prefix="aip-hotfix-"))
    try:
        git(root, "worktree", "add", "--quiet", "--detach", str(work / "tree"), tip)
        try:
            git(work / "tree", "cherry-pick", "-x", *todo, identity=True)
        except GitError as exc:
            conflicts = git(work / "tree", "diff", "--name-only", "--diff-filter=U").split()
            raise GuardError(
                f"the commits do not apply cleanly to {result.base} (conflicts in: "
                f"{', '.join(conflicts) or 'see below'}); nothing was pushed. Make the fix apply to what "
                f"{env} runs (a smaller commit on main), or promote normally. git said: {exc}"
            ) from None
        git(root, "branch", "--force", result.branch, git(work / "tree", "rev-parse", "HEAD").strip())
    finally:
        with contextlib.suppress(GitError):
            git(root, "worktree", "remove", "--force", str(work / "tree"))
        shutil.rmtree(work, ignore_errors=True)
    print(check_branch(root, result.branch, main).message)
    if not push or remote is None:
        return result
    git(root, "push", "--quiet", "--force-with-lease", remote, f"{result.branch}:{result.branch}")
    result.pushed = True
    gh = github or GitHub.from_env()
    if gh is not None:
        title = f"Hotfix {env}: " + "; ".join(line.split(" ", 1)[1] for line in result.picked)[:200]
        pr = gh.open_or_update_pull_request(result.branch, result.base, title, result.body(), (HOTFIX_LABEL,))
        result.pull_request = f"#{pr.number} {pr.url}".strip()
    return result
