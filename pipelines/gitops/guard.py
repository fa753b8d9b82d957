"""The environment-branch guard: promotion follows platform.yaml's order, and branches never drift.

Rules (docs/gitops.md):
1. A pull request into `env/<E>` comes from the previous environment's branch in platform.yaml's
   promotion order (main → dev → staging → prod), and from this repository (not a fork). Two more
   sources need the label `hotfix` (ADR 0022): `main` into a later environment (it skips the ones
   between), and a `hotfix/<E>-*` branch (`aip ci hotfix`: commits of main cherry-picked onto env/E).
2. An environment branch holds no commit that `main` lacks, except merge commits and commits
   patch-equivalent to a commit of main (`git cherry`: hotfixes); and its content (the tree of its
   tip) equals the content of a commit on `main`, or, on a branch that carries hotfixes, follows from
   commits of main by those patches and automatic merges only (`git merge-tree` reproduces every
   merge). So environment differences live in config on main, and a merge that resolved a conflict
   by hand on an environment branch is refused.

    aip guard pr --base env/prod --head env/staging      (in Actions: from GITHUB_BASE_REF/GITHUB_HEAD_REF)
    aip guard pr --base env/prod --head hotfix/prod-1a2b3c4 --labels hotfix --head-sha SHA
    aip guard branch env/staging --main origin/main
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.git import GitError, git
from pipelines.gitops import GuardError

__all__ = [
    "ENV_PREFIX",
    "HOTFIX_LABEL",
    "HOTFIX_PREFIX",
    "allowed_sources",
    "check_branch",
    "check_pull_request",
    "is_hotfix_branch",
]

ENV_PREFIX = "env/"  # environment branches are env/<name of a platform.yaml environment>
MAIN = "main"
MAIN_HISTORY_LIMIT = 5000  # commits of main searched for a matching tree; older content is not deployable
HOTFIX_LABEL = "hotfix"  # the PR label that allows main → a later environment, and hotfix/* branches
HOTFIX_PREFIX = "hotfix/"  # hotfix/<E>-<short sha>: `aip ci hotfix` (pipelines/gitops/hotfix.py)


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


def is_hotfix_branch(head: str, base: str) -> bool:
    """`hotfix/<E>-...` into `env/<E>` (the branch names the environment it fixes)."""
    return head.startswith(f"{HOTFIX_PREFIX}{base.removeprefix(ENV_PREFIX)}-")


def check_pull_request(
    promotion_order: list[str],
    base: str,
    head: str,
    *,
    head_repo: str | None = None,
    repo: str | None = None,
    labels: tuple[str, ...] | list[str] = (),
) -> Verdict:
    """Rule 1 for a PR `head` → `base`. PRs into branches that are not env/* pass (not our business).

    A hotfix branch passes here only by its name and label; that its commits are patch-equivalent to
    commits of main is rule 2, run on the PR's head commit (`aip guard pr --head-sha`)."""
    if not base.startswith(ENV_PREFIX):
        return Verdict(True, f"ok: {base} is not an environment branch; the guard does not apply")
    allowed = allowed_sources(promotion_order, base)
    if head_repo and repo and head_repo.lower() != repo.lower():
        raise GuardError(
            f"pull request into {base} comes from the fork {head_repo}:{head}; environment branches take "
            f"pull requests from this repository's {' or '.join(allowed)} only"
        )
    env = base.removeprefix(ENV_PREFIX)
    previous = allowed[-1]
    labelled = HOTFIX_LABEL in {label.strip().lower() for label in labels}
    if head == previous:
        return Verdict(True, f"ok: {head} → {base} follows the promotion order")
    skipped = promotion_order[: promotion_order.index(env)]
    if head == MAIN and labelled:
        return Verdict(
            True,
            f"ok: {MAIN} → {base} skips {', '.join(skipped)}: allowed by the label '{HOTFIX_LABEL}'",
        )
    if is_hotfix_branch(head, base) and labelled:
        return Verdict(True, f"ok: hotfix {head} → {base} (label '{HOTFIX_LABEL}'; its commits: rule 2)")
    if head == MAIN or is_hotfix_branch(head, base):
        what = f"it skips {', '.join(skipped)}" if head == MAIN else "it is a hotfix branch"
        raise GuardError(
            f"pull request into {base} comes from {head}: {what}, which needs the label '{HOTFIX_LABEL}' "
            f"(ADR 0022); expected {previous} (promotion order from platform.yaml: "
            f"{' → '.join([MAIN, *promotion_order])}), or label the pull request '{HOTFIX_LABEL}' "
            "and re-run the guard"
        )
    raise GuardError(
        f"pull request into {base} comes from {head}; expected {' or '.join(allowed)} "
        f"({MAIN} {'skips ' + ', '.join(skipped) + ': ' if skipped else ''}"
        f"{'only with the label ' + repr(HOTFIX_LABEL) + ', ' if skipped else ''}"
        f"or a {HOTFIX_PREFIX}{env}-* branch labelled '{HOTFIX_LABEL}'; promotion order from "
        f"platform.yaml: {' → '.join([MAIN, *promotion_order])}). Merge {head} into main first, then "
        f"promote, or `aip ci hotfix --env {env} COMMIT` once it is on main"
    )


def check_branch(root: Path, branch: str, main: str = MAIN) -> Verdict:
    """Rule 2: `branch` (a ref or commit) holds no commit that `main` lacks, and its tree is on main.

    Hotfix exception (ADR 0022): a non-merge commit patch-equivalent to a commit of main (`git
    cherry` marks it `-`) is allowed, and a branch carrying such commits may have content no commit
    of main has, provided every commit it adds is such a patch or an automatic merge."""
    for ref in (branch, main):
        try:
            git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except GitError:
            raise GuardError(f"{ref} is not a branch, ref or commit in {root} (not fetched?)") from None
    cherry = [line.split(maxsplit=1) for line in git(root, "cherry", main, branch).splitlines() if line]
    equivalent = [sha for mark, sha in cherry if mark == "-" or _on_main(root, main, sha)]
    extra = [sha for _, sha in cherry if sha not in equivalent]
    if extra:
        listed = "\n".join(
            f"  {git(root, 'log', '-1', '--format=%h %s', sha).strip()}" for sha in reversed(extra[-20:])
        )
        more = f"\n  ... and {len(extra) - 20} more" if len(extra) > 20 else ""
        raise GuardError(
            f"{branch} has {len(extra)} commit(s) that {main} lacks (environment-only commits make "
            f"branches drift):\n{listed}{more}\nexpected: change config on {main} (platform.yaml, "
            f"model.yaml environments, infra/envs/<env>/) and promote it, or commit the fix on {main} "
            f"and cherry-pick it (`aip ci hotfix`); to repair, reset {branch} to a commit of {main}"
        )
    tree = git(root, "rev-parse", f"{branch}^{{tree}}").strip()
    trees = dict(
        line.split()
        for line in git(root, "log", f"--max-count={MAIN_HISTORY_LIMIT}", "--format=%T %h", main).splitlines()
    )
    hotfixes = f"; {len(equivalent)} hotfix commit(s) patch-equivalent to {main}" if equivalent else ""
    if tree in trees:
        return Verdict(
            True,
            f"ok: {branch} has no commit that {main} lacks{hotfixes}; its content is {main}@{trees[tree]}",
        )
    differs = (
        f"{branch}'s content differs from every commit of {main} (last {MAIN_HISTORY_LIMIT}): a merge "
        f"into {branch} changed files (a conflict resolved by hand?) or {branch} is ahead of {main}. "
        f"Expected: {branch}'s files equal a commit of {main}; compare with `git diff {main} {branch}`"
    )
    if not equivalent:
        raise GuardError(differs)
    hand_made = _hand_made_merges(root, branch, main, set(trees))
    if hand_made:
        raise GuardError(
            f"{differs}. {branch} carries hotfixes, but these merges are not what git merges by itself "
            f"(a conflict resolved by hand): {', '.join(hand_made)}"
        )
    return Verdict(
        True,
        f"ok: {branch} has no commit that {main} lacks{hotfixes}; its content is {main}'s commits with "
        "those patches and automatic merges",
    )


def _on_main(root: Path, main: str, sha: str) -> bool:
    """Whether a commit of main not in `sha`'s own history has its patch (`git cherry main SHA SHA^`).

    `git cherry main BRANCH` compares with main's commits that BRANCH lacks only, so once a later
    promotion merged the original into BRANCH, a hotfix that copied it needs this check of its own."""
    try:
        mark = git(root, "cherry", main, sha, f"{sha}^").split()
    except GitError:  # a root commit: no parent to compare from
        return False
    return bool(mark) and mark[0] == "-"


def _hand_made_merges(root: Path, branch: str, main: str, main_trees: set[str]) -> list[str]:
    """Merges `branch` adds since its last commit with main's content whose tree git's own merge
    (`git merge-tree --write-tree`, git 2.38+) does not reproduce, as short shas."""
    rows = [line.split() for line in git(root, "log", "--format=%H %T %P", f"{main}..{branch}").splitlines()]
    anchors = [row[0] for row in rows if row[1] in main_trees]
    since = git(root, "rev-list", "--merges", branch, "--not", main, *anchors).split()
    parents = {row[0]: row for row in rows}
    bad: list[str] = []
    for sha in since:
        _, tree, *merged = parents[sha]
        try:
            made = git(root, "merge-tree", "--write-tree", *merged).split()[0] if len(merged) == 2 else ""
        except GitError:  # a conflict (exit 1) or an old git
            made = ""
        if made != tree:
            bad.append(sha[:7])
    return bad
