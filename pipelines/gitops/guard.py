"""The environment-branch guard: promotion follows platform.yaml's order, and branches never drift.

Rules (docs/gitops.md):
1. A pull request into `env/<E>` comes from `main` or from the previous environment's branch in
   platform.yaml's promotion order (dev → staging → prod), and from this repository (not a fork).
2. An environment branch holds no commit that `main` lacks, except merge commits; and its content
   (the tree of its tip) equals the content of a commit on `main`. So environment differences live in
   config on main, and a merge that resolved a conflict by hand on an environment branch is refused.

    aip guard pr --base env/prod --head env/staging      (in Actions: from GITHUB_BASE_REF/GITHUB_HEAD_REF)
    aip guard branch env/staging --main origin/main
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.git import GitError, git
from pipelines.gitops import GuardError

__all__ = ["ENV_PREFIX", "allowed_sources", "check_branch", "check_pull_request"]

ENV_PREFIX = "env/"  # environment branches are env/<name of a platform.yaml environment>
MAIN = "main"
MAIN_HISTORY_LIMIT = 5000  # commits of main searched for a matching tree; older content is not deployable


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str


def allowed_sources(promotion_order: list[str], base: str) -> list[str]:
    """Branches a PR into `base` may come from: main for the first environment, then the previous one."""
    env = base.removeprefix(ENV_PREFIX)
    if not base.startswith(ENV_PREFIX) or env not in promotion_order:
        known = ", ".join(ENV_PREFIX + e for e in promotion_order)
        raise GuardError(f"{base} is not an environment branch (platform.yaml promotes through: {known})")
    index = promotion_order.index(env)
    return [MAIN] if index == 0 else [MAIN, ENV_PREFIX + promotion_order[index - 1]]


def check_pull_request(
    promotion_order: list[str], base: str, head: str, *, head_repo: str | None = None, repo: str | None = None
) -> Verdict:
    """Rule 1 for a PR `head` → `base`. PRs into branches that are not env/* pass (not our business)."""
    if not base.startswith(ENV_PREFIX):
        return Verdict(True, f"ok: {base} is not an environment branch; the guard does not apply")
    allowed = allowed_sources(promotion_order, base)
    if head_repo and repo and head_repo.lower() != repo.lower():
        raise GuardError(
            f"pull request into {base} comes from the fork {head_repo}:{head}; environment branches take "
            f"pull requests from this repository's {' or '.join(allowed)} only"
        )
    if head not in allowed:
        raise GuardError(
            f"pull request into {base} comes from {head}; expected {' or '.join(allowed)} "
            f"(promotion order from platform.yaml: {' → '.join([MAIN, *promotion_order])}). "
            f"Merge {head} into main first, then promote"
        )
    return Verdict(True, f"ok: {head} → {base} follows the promotion order")


def check_branch(root: Path, branch: str, main: str = MAIN) -> Verdict:
    """Rule 2: `branch` (a ref or commit) holds no commit that `main` lacks, and its tree is on main."""
    for ref in (branch, main):
        try:
            git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except GitError:
            raise GuardError(f"{ref} is not a branch, ref or commit in {root} (not fetched?)") from None
    extra = git(root, "log", "--no-merges", "--format=%h %s", f"{main}..{branch}").splitlines()
    if extra:
        listed = "\n".join(f"  {line}" for line in extra[:20])
        more = f"\n  ... and {len(extra) - 20} more" if len(extra) > 20 else ""
        raise GuardError(
            f"{branch} has {len(extra)} commit(s) that {main} lacks (environment-only commits make "
            f"branches drift):\n{listed}{more}\nexpected: change config on {main} (platform.yaml, "
            f"model.yaml environments, infra/envs/<env>/) and promote it; to repair, reset {branch} "
            f"to a commit of {main}"
        )
    tree = git(root, "rev-parse", f"{branch}^{{tree}}").strip()
    trees = git(root, "log", f"--max-count={MAIN_HISTORY_LIMIT}", "--format=%T %h", main).splitlines()
    match = next((line.split()[1] for line in trees if line.split()[0] == tree), None)
    if match is None:
        raise GuardError(
            f"{branch}'s content differs from every commit of {main} (last {MAIN_HISTORY_LIMIT}): a merge "
            f"into {branch} changed files (a conflict resolved by hand?) or {branch} is ahead of {main}. "
            f"Expected: {branch}'s files equal a commit of {main}; compare with `git diff {main} {branch}`"
        )
    return Verdict(True, f"ok: {branch} has no commit that {main} lacks; its content is {main}@{match}")
