"""`aip ci promote --from dev --to staging`: open or update the promotion pull request.

The pull request `env/<from>` → `env/<to>` lists what would move: per model the version at each
alias with its test metrics and canary verdict (tags on the registered version), and the commits.
Needs GITHUB_TOKEN (a PR opened with the default token does not trigger workflows: set the
PROMOTION_TOKEN secret, a GitHub App or fine-grained token, so the PR's checks run; docs/gitops.md).
"""

from __future__ import annotations

import os
from typing import Any

from pipelines.errors import is_expected
from pipelines.git import GitError, git
from pipelines.gitops import GuardError
from pipelines.gitops.actions import annotate, api, write_summary
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
        rows.append(
            f"| {model} | {f'v{new.version}' if new else '—'}{moving} | {f'v{old.version}' if old else '—'} "
            f"| {metrics or '—'} | {canary} |"
        )
    return rows


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
            "### Commits",
            "",
            commits,
            "",
            "Opened by promote.yml; the environment-branch guard checks this pull request.",
        ]
    )


def promote(repo: Repo, source: str, target: str) -> str:
    order = repo.platform.promotion_order
    if source not in order or target not in order or order.index(target) != order.index(source) + 1:
        raise GuardError(f"promotion goes {' → '.join(order)}; {source} → {target} is not a step of it")
    body = render_body(repo, source, target)
    write_summary(body)
    token = os.environ.get("GITHUB_TOKEN", "")
    slug = os.environ.get("GITHUB_REPOSITORY", "")
    if not (token and slug):
        annotate("notice", "no GITHUB_TOKEN/GITHUB_REPOSITORY: promotion PR not opened (body in the summary)")
        return "not opened"
    owner = slug.split("/")[0]
    head, base = ENV_PREFIX + source, ENV_PREFIX + target
    title = f"Promote {source} → {target}"
    try:
        found = api("GET", f"/repos/{slug}/pulls?state=open&head={owner}:{head}&base={base}", token)
        if found:
            api("PATCH", f"/repos/{slug}/pulls/{found[0]['number']}", token, {"body": body, "title": title})
            return f"updated #{found[0]['number']}"
        created = api(
            "POST", f"/repos/{slug}/pulls", token, {"head": head, "base": base, "title": title, "body": body}
        )
        return f"opened #{created['number']}"
    except HttpError as exc:  # a 422 when env/<to> already has everything
        if "No commits between" in str(exc):
            return f"nothing to promote: {base} already has everything in {head}"
        raise
