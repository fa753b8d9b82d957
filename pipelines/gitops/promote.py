"""`aip ci promote --from dev --to staging`: open or update the promotion pull request.

The pull request `env/<from>` → `env/<to>` lists what would move: per model the version at each
alias with its test metrics and canary verdict (tags on the registered version), and the commits.
Needs GITHUB_TOKEN (a PR opened with the default token does not trigger workflows: set the
PROMOTION_TOKEN secret, a GitHub App or fine-grained token, so the PR's checks run; docs/gitops.md).
"""

from __future__ import annotations

from typing import Any

from pipelines.errors import is_expected
from pipelines.git import GitError, git
from pipelines.github import GitHub
from pipelines.gitops import GuardError
from pipelines.gitops.actions import annotate, write_summary
from pipelines.gitops.guard import ENV_PREFIX
from pipelines.http import HttpError
from pipelines.repo.layout import Repo

__all__ = ["promote", "render_body"]

MARKER = "<!-- aip:promotion -->"
MAX_COMMITS = 50  # listed in the body; the PR's own commit list has them all


def _versions(repo: Repo, source: str, target: str) -> list[str]:
    """Table rows: model, version at @source, at @target, metrics, canary verdict; a notice if unreachable."""
    try:
        from pipelines.registry.context import Context

        ctx = Context.open(repo, source)
    except Exception as exc:
        if not is_expected(exc):
            raise
        annotate(
            "notice", f"registry of {source} not reachable from this runner ({exc}); versions not listed"
        )
        return [f"_Registry of `{source}` not reachable from this runner: versions not listed ({exc})._"]
    rows = [f"| model | @{source} | @{target} | test metrics | canary |", "| --- | --- | --- | --- | --- |"]
    for model in repo.model_names():
        new = ctx.registry.alias_version(model, source)
        old = ctx.registry.alias_version(model, target)
        tags: dict[str, Any] = dict(new.tags) if new is not None else {}
        metrics = ", ".join(
            f"{k.removeprefix('aip.metric.test_')} {float(v):.3f}"
            for k, v in sorted(tags.items())
            if k.removeprefix("aip.metric.test_") in ("accuracy", "macro_f1", "roc_auc")
            and k.startswith("aip.metric.test_")
        )
        canary = next(
            (str(v) for k, v in sorted(tags.items()) if k.startswith(("aip.canary", "aip.deploy"))), "—"
        )
        moving = "" if new is None or (old is not None and old.version == new.version) else " (moves)"
        pin = repo.model(model).environment(target)
        if pin.pin:  # model.yaml decides for this model in `target` (ADR 0022)
            moving = " (held)" if pin.hold else f" (pinned: {pin.pin} in {target})"
        rows.append(
            f"| {model} | {f'v{new.version}' if new else '—'}{moving} | {f'v{old.version}' if old else '—'} "
            f"| {metrics or '—'} | {canary} |"
        )
    return rows


def _pins(repo: Repo, target: str) -> list[str]:
    """Lines for the models model.yaml holds or pins in `target` (what merging this PR keeps there)."""
    lines = []
    for model in repo.model_names():
        settings = repo.model(model).environment(target)
        if settings.pin:
            what = "stays where it is (hold)" if settings.hold else f"deploys {settings.pin} (pinned)"
            why = f": {settings.reason}" if settings.reason else ""
            lines.append(f"- **{model}** {what} in {target}{why} (`models/{model}/model.yaml`)")
    return ["### Pins in git", "", *lines, ""] if lines else []


def render_body(repo: Repo, source: str, target: str) -> str:
    try:
        commits = git(
            repo.root,
            "log",
            "--no-merges",
            f"--max-count={MAX_COMMITS}",
            "--format=- %h %s",
            f"origin/{ENV_PREFIX}{target}..origin/{ENV_PREFIX}{source}",
        ).strip()
    except GitError:  # a branch not fetched (a laptop, a shallow checkout)
        commits = ""
    commits = commits or "_(branch comparison unavailable: fetch both environment branches)_"
    return "\n".join(
        [
            MARKER,
            f"Promotes what runs in **{source}** to **{target}**. Merging deploys it (deploy.yml): the same",
            "registered versions move by alias, nothing is retrained.",
            "",
            "### Model versions",
            "",
            *_versions(repo, source, target),
            "",
            *_pins(repo, target),
            "### Commits",
            "",
            commits,
            "",
            "Opened by promote.yml; the environment-branch guard checks this pull request.",
        ]
    )


def _create_missing(gh: GitHub, repo: Repo, source: str, base: str) -> str | None:
    """Create `base` when it does not exist yet (a fork's first promotion); a line saying so, or None.

    It starts at the main commit `source` runs (the merge base of env/<source> and main: its content,
    by the guard's rule 2), so the new branch holds only commits of main. Its creation is a push:
    deploy.yml deploys it in the GitHub environment (behind prod's reviewers), unless the default
    token created it (its events start no workflow): then the next promotion deploys it."""
    if gh.branch_sha(base) is not None:
        return None
    try:
        start = git(repo.root, "merge-base", f"origin/{ENV_PREFIX}{source}", "origin/main").strip()
    except GitError:
        start = gh.branch_sha(ENV_PREFIX + source) or ""
    if not start:
        raise GuardError(f"{base} does not exist and neither does {ENV_PREFIX}{source}: nothing to promote")
    try:
        gh.create_branch(base, start)
    except HttpError as exc:
        if exc.status not in (403, 404, 422):
            raise
        raise GuardError(
            f"{base} does not exist and could not be created ({exc.message}): give the token "
            f"contents: write (PROMOTION_TOKEN, docs/gitops.md), or create it: "
            f"git push origin {start}:refs/heads/{base}"
        ) from None
    return f"created {base} at {start[:12]} (the main commit {source} runs)"


def promote(repo: Repo, source: str, target: str) -> str:
    order = repo.platform.promotion_order
    if source not in order or target not in order or order.index(target) != order.index(source) + 1:
        raise GuardError(f"promotion goes {' → '.join(order)}; {source} → {target} is not a step of it")
    body = render_body(repo, source, target)
    write_summary(body)
    gh = GitHub.from_env()
    if gh is None:
        annotate("notice", "no GITHUB_TOKEN/GITHUB_REPOSITORY: promotion PR not opened (body in the summary)")
        return "not opened"
    head, base = ENV_PREFIX + source, ENV_PREFIX + target
    created = _create_missing(gh, repo, source, base)
    try:
        pr = gh.open_or_update_pull_request(head, base, f"Promote {source} → {target}", body)
    except HttpError as exc:  # 422 "Validation Failed" when env/<to> already has everything
        if exc.status != 422 or not _has_everything(gh, base, head):
            raise
        return "; ".join(
            filter(None, [created, f"nothing to promote: {base} already has everything in {head}"])
        )
    return "; ".join(filter(None, [created, f"{'opened' if pr.created else 'updated'} #{pr.number}"]))


def _has_everything(gh: GitHub, base: str, head: str) -> bool:
    """Whether `base` has every commit of `head` (GitHub's compare: `ahead_by` 0). GitHub's 422 says
    "No commits between" only inside its `errors` list, so the answer is asked, not parsed."""
    answer = gh.get(f"compare/{base}...{head}")
    return isinstance(answer, dict) and int(answer.get("ahead_by", -1)) == 0
