"""`aip rollback MODEL --env E [--to N] [--reason TEXT]`: roll a model back through git, never by hand.

The alias `@E` is never moved here. The rollback is a pin in git (ADR 0022): model.yaml's
`environments.<E>.version: N`, which `aip deploy` honours whatever the commit's fingerprint says.

1. The version: `--to N`, else the one `@E` held before its current version (the registry's tag
   `aip.previous.<E>` on the current version, written whenever the alias moves), else the newest
   version older than the current one that E ran (versions whose `aip.deploy.<E>.verdict` is a
   promotion). The registry named by platform.yaml (or AIP_TRACKING_URI) is read; SQLite works.
2. The pin is written into models/<MODEL>/model.yaml with its comments kept (ruamel.yaml round trip).
3. An environment with a branch (platform.yaml's promotion order) and a remote: the pin is committed
   on `rollback/<model>-<E>-v<N>` from main (in a temporary worktree: your checkout is untouched),
   pushed, and a pull request into main is opened (GITHUB_TOKEN + GITHUB_REPOSITORY). Once merged it
   reaches E by `aip ci hotfix --env E <merge commit>` (now, alone) or by the next promotion (the pin
   changes nothing in the environments before E).
   Without a remote the branch is committed locally, for you to push. An environment without a
   branch (`--env local`): the pin is written in the working tree and `aip deploy` runs with it (a
   canary of N against the current version), unless `--no-deploy`.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import is_expected
from pipelines.git import GitError, git
from pipelines.github import GitHub
from pipelines.gitops import GuardError
from pipelines.gitops.actions import annotate
from pipelines.repo.layout import Repo

if TYPE_CHECKING:
    from pipelines.registry.context import Context

__all__ = ["Rollback", "rollback", "target_version", "write_pin"]

PROMOTED = ("promoted", "promoted_directly")


@dataclass
class Rollback:
    model: str
    env: str
    version: str
    current: str | None
    branch: str = ""  # rollback/<model>-<env>-v<N> when committed
    pull_request: str = ""
    deploy_verdict: str = ""  # the local deploy's verdict, when one ran

    def next_steps(self, hotfix_ok: bool) -> str:
        if not self.branch:
            return ""
        lines = [f"merge {self.branch} into main ({self.pull_request or 'open the pull request'}); then"]
        if hotfix_ok:
            lines.append(
                f"  now, alone:  aip ci hotfix --env {self.env} <the merge commit on main>  (a PR into "
                f"env/{self.env} labelled hotfix)"
            )
        lines.append(
            f"  or promote as usual: the pin changes nothing before {self.env}, deploys v{self.version} there"
        )
        return "\n".join(lines)


def target_version(ctx: Context, model: str) -> tuple[str | None, str, list[str]]:
    """(@E's version, the version to roll back to, the versions E ran) from the registry."""
    env = ctx.env
    current = ctx.registry.alias_version(model, env)
    versions = ctx.client.search_model_versions(f"name = '{model}'")
    ran = {
        int(v.version)
        for v in versions
        if dict(v.tags).get(f"aip.deploy.{env}.verdict") in PROMOTED or f"aip.previous.{env}" in dict(v.tags)
    } | {int(p) for v in versions if (p := dict(v.tags).get(f"aip.previous.{env}", "")).isdigit()}
    history = [f"v{n}" for n in sorted(ran)]
    if current is None:
        raise GuardError(f"{model} has no version @{env}: nothing to roll back (give --to N to pin one)")
    now = int(current.version)
    before = dict(current.tags).get(f"aip.previous.{env}", "")
    if before.isdigit() and int(before) != now:
        return str(now), before, history
    older = [n for n in ran if n < now]
    if not older:
        raise GuardError(
            f"{model}: no version ran in {env} before v{now} "
            f"(ran: {', '.join(history) or 'none'}); give --to N"
        )
    return str(now), str(max(older)), history


def write_pin(text: str, env: str, version: int, reason: str | None) -> str:
    """model.yaml's text with `environments.<env>.version: N` (and `reason`), comments kept."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML()  # round trip: comments, order and quotes stay
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    data: Any = yaml.load(text)
    environments = data.get("environments")
    if environments is None:
        environments = data["environments"] = CommentedMap()
    block = environments.get(env)
    if block is None:
        block = environments[env] = CommentedMap()
    block.pop("hold", None)
    block["version"] = version
    if reason:
        block["reason"] = reason
    else:
        block.pop("reason", None)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _commit_pin(repo: Repo, result: Rollback, base: str, reason: str | None) -> None:
    """Commit the pin on `result.branch` from `base` in a temporary worktree (no file checked out)."""
    rel = f"models/{result.model}/model.yaml"
    text = write_pin(git(repo.root, "show", f"{base}:{rel}"), result.env, int(result.version), reason)
    work = Path(tempfile.mkdtemp(prefix="aip-rollback-"))
    tree = work / "tree"
    try:
        git(repo.root, "worktree", "add", "--quiet", "--no-checkout", "--detach", str(tree), base)
        git(tree, "reset", "--quiet", base)  # the index of base; the working tree stays empty
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text, encoding="utf-8")
        git(tree, "add", rel)
        held = f"@{result.env} held v{result.current}; " if result.current else ""
        message = (
            f"rollback: {result.model} in {result.env} to v{result.version}\n\n"
            f"{reason or 'no reason given'}\n\n{held}pinned by `aip rollback` (models/{result.model}/"
            f"model.yaml environments.{result.env}.version); remove the pin to follow the commit again."
        )
        git(tree, "commit", "--quiet", "-m", message, identity=True)
        git(repo.root, "branch", "--force", result.branch, git(tree, "rev-parse", "HEAD").strip())
    finally:
        with contextlib.suppress(GitError):
            git(repo.root, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(work, ignore_errors=True)


def rollback(
    repo: Repo,
    model: str,
    env: str,
    *,
    to: int | None = None,
    reason: str | None = None,
    remote: str | None = "origin",
    push: bool = True,
    deploy: bool = True,
    github: GitHub | None = None,
) -> Rollback:
    from pipelines.registry.context import Context

    repo.model(model)  # unknown model: a ConfigError naming the folders there are
    env, _ = repo.environment(env)
    current: str | None = None
    ctx: Context | None = None
    try:
        ctx = Context.open(repo, env)
        if to is None:
            current, target, history = target_version(ctx, model)
            print(f"{model}: @{env} is v{current}; {env} ran {', '.join(history)}; rolling back to v{target}")
        else:
            from pipelines.deploy.controller import resolve_version

            target = resolve_version(ctx, model, str(to))
            found = ctx.registry.alias_version(model, env)
            current = str(found.version) if found is not None else None
    except Exception as exc:
        if to is None or not is_expected(exc) or isinstance(exc, GuardError):
            raise
        annotate("notice", f"registry of {env} not readable ({exc}); pinning v{to} unchecked")
        target = str(to)
    if current == target:
        raise GuardError(f"{model}: v{target} is @{env} already; nothing to roll back")
    result = Rollback(model, env, target, current)
    remotes = git(repo.root, "remote").split()
    remote = remote if remote in remotes else None
    if env in repo.platform.promotion_order:  # a branch deploys it: the pin goes through a PR into main
        if remote is not None:
            git(repo.root, "fetch", "--quiet", remote, "main")
        result.branch = f"rollback/{model}-{env}-v{target}"
        _commit_pin(repo, result, f"{remote}/main" if remote else "main", reason)
        print(f"committed the pin on {result.branch}" + ("" if remote else " (no remote: push it yourself)"))
        if push and remote is not None:
            git(
                repo.root, "push", "--quiet", "--force-with-lease", remote, f"{result.branch}:{result.branch}"
            )
            gh = github or GitHub.from_env()
            if gh is not None:
                body = (
                    f"Rolls **{model}** back to **v{target}** in **{env}** "
                    f"(`@{env}` is v{current}). {reason or ''}\n\n"
                    f"A pin in git (`environments.{env}.version` in `models/{model}/model.yaml`, "
                    f"ADR 0022): `aip deploy` deploys v{target} in {env} whatever the commit's "
                    f"fingerprint; nothing before {env} changes. After merging: "
                    f"`aip ci hotfix --env {env} <merge commit>` takes it to {env} now, or the next "
                    "promotion does. Remove the pin to follow the commit again.\n\n"
                    "Opened by `aip rollback`."
                )
                title = f"Rollback {model} in {env} to v{target}"
                pr = gh.open_or_update_pull_request(result.branch, "main", title, body, ("rollback",))
                result.pull_request = f"#{pr.number} {pr.url}".strip()
        return result
    path = repo.model_dir(model) / "model.yaml"
    path.write_text(write_pin(path.read_text(encoding="utf-8"), env, int(target), reason), encoding="utf-8")
    print(f"pinned v{target} in {path} (environments.{env}.version); commit it to keep it")
    if deploy:
        from pipelines.deploy.runner import deploy_in_env

        if ctx is None:
            raise GuardError(f"the registry of {env} is not readable: the pin is written, nothing deployed")
        outcome = deploy_in_env(ctx, model, target)
        result.deploy_verdict = outcome.verdict
        print(
            f"{model}: v{target} @{env}: {outcome.verdict.replace('_', ' ')}"
            + (f" ({outcome.reason})" if outcome.reason else "")
        )
    return result
