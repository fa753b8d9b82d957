"""Template releases and updates: the CHANGELOG, the fork's template version, `aip template update`.

    aip template changelog --from v0.1.0 --to v0.2.0   the CHANGELOG sections between two versions
    aip template update [--upstream URL|PATH|OWNER/NAME] [--to TAG|latest] [--branch NAME]
    aip template release --tag v0.2.0                  the tag's section as its GitHub release

A fork differs from its template only in platform.yaml and the files `aip render` derives from it, so an
update is a plain `git merge` of the upstream release tag into a new branch (docs/upgrading.md):

1. fetch the upstream's tags into `refs/template/tags/` (never over the fork's own tags);
2. a fork made with GitHub's "Use this template" shares no history with the upstream: first record
   the release it was made from as merged (`git merge -s ours`), so the real merge is three-way with
   that release as its base instead of a conflict in every file;
3. `git merge --no-commit` the tag; conflicts resolve by kind: platform.yaml keeps the fork's side of
   each conflicting hunk (upstream's other hunks are taken), a derived file takes the upstream's text
   (step 4 writes the fork's values back into it), any other file keeps git's conflict markers and is
   listed for a human;
4. `aip render` with the merged engine (`python -m pipelines` in the fork) regenerates every derived
   file from the fork's platform.yaml;
5. `.aip-template.yaml` records the new version; one merge commit; the pull request body lists the
   changelog sections, the regenerated files and the conflicts left.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import AipError
from pipelines.git import GitError, git

if TYPE_CHECKING:
    from pipelines.github import GitHub, PullRequest

__all__ = [
    "ANSWERS_FILE",
    "CHANGELOG",
    "Answers",
    "Release",
    "TemplateError",
    "UpdateResult",
    "changelog_between",
    "check_changelog",
    "current_version",
    "derived_paths",
    "format_releases",
    "open_pull_request",
    "parse_changelog",
    "parse_version",
    "platform_upstream",
    "publish_release",
    "read_answers",
    "resolve_upstream",
    "update",
    "write_answers",
]

ANSWERS_FILE = ".aip-template.yaml"  # the fork's template version (docs/upgrading.md, "The answers file")
CHANGELOG = "CHANGELOG.md"
PLATFORM = "platform.yaml"
TAG_NAMESPACE = "refs/template/tags"  # upstream tags live here, apart from the fork's own v* tags
LABEL = "template-update"  # label of the update pull request
RENDER_TIMEOUT_S = 600  # `aip render` rewrites ~40 files; seconds, far above what it takes

_VERSION = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?$")
_HEADING = re.compile(r"^## \[([^\]]+)\](.*)$")
_LINK_DEF = re.compile(r"^\[[^\]]+\]: \S+")


class TemplateError(AipError):
    """A template update or release cannot go on; the message names the file, ref or value at fault."""


# ---------------------------------------------------------------- versions and the CHANGELOG
def parse_version(text: str) -> tuple[int, int, int, int, str]:
    """A sortable key for `vX.Y.Z[-pre]` (the v is optional); a release sorts after its pre-releases."""
    match = _VERSION.match(text.strip())
    if not match:
        raise TemplateError(f"{text!r} is not a version: expected vMAJOR.MINOR.PATCH, e.g. v0.2.0")
    major, minor, patch, pre = match.groups()
    return int(major), int(minor), int(patch), 0 if pre else 1, pre or ""


def _tag(version: str) -> str:
    """`v0.2.0` for `0.2.0` or `v0.2.0`."""
    parse_version(version)
    return version if version.startswith("v") else f"v{version}"


@dataclass(frozen=True)
class Release:
    """One `## [version] - date` section of the CHANGELOG."""

    version: str
    """`0.2.0`, or `Unreleased`."""
    heading: str
    """The heading line as written."""
    body: str
    """The markdown under the heading, stripped."""

    @property
    def released(self) -> bool:
        return self.version.lower() != "unreleased"


def parse_changelog(text: str, source: str = CHANGELOG) -> list[Release]:
    """The sections of a Keep a Changelog file, in file order (newest first)."""
    releases: list[Release] = []
    heading: str | None = None
    lines: list[str] = []

    def close() -> None:
        if heading is not None:
            match = _HEADING.match(heading)
            assert match  # heading was matched when it was kept
            version = match.group(1).strip()
            if version.lower() != "unreleased":
                try:
                    parse_version(version)
                except TemplateError as exc:
                    raise TemplateError(f"{source}: section '{heading}': {exc}") from None
            releases.append(Release(version, heading, "\n".join(lines).strip()))

    for line in text.splitlines():
        if _HEADING.match(line):
            close()
            heading, lines = line, []
        elif line.startswith("## ") or _LINK_DEF.match(line):
            close()  # a heading of another shape, or the link definitions at the end: no section
            heading, lines = None, []
        elif heading is not None:
            lines.append(line)
    close()
    return releases


def changelog_between(releases: list[Release], since: str | None, until: str) -> list[Release]:
    """Releases newer than `since` (excluded; None: from the first) up to `until` (included)."""
    top = parse_version(until)
    if not any(r.released and parse_version(r.version) == top for r in releases):
        known = ", ".join(r.version for r in releases if r.released) or "none"
        raise TemplateError(f"{CHANGELOG}: no section '## [{until.lstrip('v')}]' (versions: {known})")
    low = parse_version(since) if since else None
    return [
        r
        for r in releases
        if r.released and parse_version(r.version) <= top and (low is None or parse_version(r.version) > low)
    ]


def format_releases(releases: list[Release], level: int = 2) -> str:
    """The sections as markdown again, their headings at `level` (3 inside a PR body's section)."""
    out = []
    for release in releases:
        heading = "#" * level + release.heading[2:]
        body = re.sub(
            r"^(#{3,}) ", lambda m: "#" * (len(m.group(1)) + level - 2) + " ", release.body, flags=re.M
        )
        out.append(f"{heading}\n\n{body}".rstrip())
    return "\n\n".join(out) + ("\n" if out else "")


def code_version(root: Path) -> str:
    """`__version__` of the checkout's pipelines/__init__.py (what pyproject.toml's `version` matches)."""
    path = root / "pipelines" / "__init__.py"
    match = re.search(r'^__version__ = "([^"]+)"', path.read_text(), re.M) if path.is_file() else None
    if not match:
        raise TemplateError(f'{path}: no line `__version__ = "X.Y.Z"`')
    return match.group(1)


def check_changelog(root: Path) -> list[str]:
    """Problems of CHANGELOG.md: unparsable, versions out of order, none for the code's version."""
    path = root / CHANGELOG
    if not path.is_file():
        return [f"{CHANGELOG}: missing (docs/upgrading.md, 'Releases')"]
    try:
        releases = parse_changelog(path.read_text())
    except TemplateError as exc:
        return [str(exc)]
    problems = []
    versions = [r.version for r in releases if r.released]
    if versions != sorted(versions, key=parse_version, reverse=True):
        problems.append(f"{CHANGELOG}: sections are not newest first: {', '.join(versions)}")
    if len(set(versions)) != len(versions):
        problems.append(f"{CHANGELOG}: a version has two sections: {', '.join(versions)}")
    version = code_version(root)
    if version not in versions:
        problems.append(
            f"{CHANGELOG}: no section '## [{version}] - DATE' for pipelines/__init__.py's __version__ "
            f"{version} (release: rename '## [Unreleased]' to it)"
        )
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        match = re.search(r'^version = "([^"]+)"', pyproject.read_text(), re.M)
        if match and match.group(1) != version:
            problems.append(
                f"pyproject.toml: version {match.group(1)} differs from pipelines/__init__.py's {version}"
            )
    return problems


# ---------------------------------------------------------------- the answers file
@dataclass(frozen=True)
class Answers:
    """`.aip-template.yaml`: which template release the fork is on, and where it came from."""

    upstream: str
    """The template repository (`owner/name`, a URL or a path) the release was taken from."""
    version: str
    """The release tag, `vX.Y.Z`."""
    commit: str
    """The tag's commit: the merge base of the next update (forks without shared history need it)."""

    def dump(self) -> str:
        return (
            "# The template release this repository is on; written by `aip template update`\n"
            "# (docs/upgrading.md). Do not edit: the next update merges from this release.\n"
            f"upstream: {self.upstream}\nversion: {self.version}\ncommit: {self.commit}\n"
        )


def read_answers(root: Path) -> Answers | None:
    path = root / ANSWERS_FILE
    if not path.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise TemplateError(f"{ANSWERS_FILE}: not valid YAML: {exc}") from None
    expected = {"upstream", "version", "commit"}
    if not isinstance(data, dict) or set(data) != expected:
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise TemplateError(f"{ANSWERS_FILE}: expected exactly the keys {sorted(expected)}, got {got}")
    answers = Answers(str(data["upstream"]), str(data["version"]), str(data["commit"]))
    try:
        parse_version(answers.version)
    except TemplateError as exc:
        raise TemplateError(f"{ANSWERS_FILE}: version: {exc}") from None
    return answers


def write_answers(root: Path, answers: Answers) -> None:
    (root / ANSWERS_FILE).write_text(answers.dump())


# ---------------------------------------------------------------- the upstream and its tags
def resolve_upstream(root: Path, given: str | None = None) -> str:
    """What `git fetch` reads: `given`, else .aip-template.yaml's, else platform.yaml's
    `organisation.upstream`; a local path as is, `owner/name` on $GITHUB_SERVER_URL (github.com)."""
    source = given or ""
    if not source:
        answers = read_answers(root)
        source = answers.upstream if answers else platform_upstream(root)
    if not source:
        raise TemplateError(
            f"no upstream: set organisation.upstream in {PLATFORM} (owner/name of the template), "
            "or pass --upstream URL|PATH|OWNER/NAME"
        )
    if source.startswith("-"):  # would reach `git fetch` as an option
        raise TemplateError(f"upstream {source!r}: expected owner/name, a git URL or a path, not an option")
    if "://" in source or source.startswith("git@") or Path(source).exists():
        return source
    if re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", source):
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        return f"{server}/{source}.git"
    raise TemplateError(f"upstream {source!r}: expected owner/name, a git URL or an existing path")


def platform_upstream(root: Path) -> str:
    import yaml

    try:
        data = yaml.safe_load((root / PLATFORM).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"{PLATFORM}: cannot read organisation.upstream: {exc}") from None
    org = data.get("organisation") if isinstance(data, dict) else None
    return str(org.get("upstream") or "") if isinstance(org, dict) else ""


def _fetch_tags(root: Path, url: str) -> list[str]:
    """Fetch the upstream's tags into TAG_NAMESPACE; its release tags, oldest first."""
    git(root, "fetch", "--quiet", "--no-tags", "--force", "--prune", url, f"+refs/tags/*:{TAG_NAMESPACE}/*")
    names = git(root, "for-each-ref", "--format=%(refname)", TAG_NAMESPACE).split()
    tags = [n.removeprefix(f"{TAG_NAMESPACE}/") for n in names]
    return sorted((t for t in tags if _VERSION.match(t)), key=parse_version)


def _commit_of(root: Path, tag: str) -> str:
    return git(root, "rev-parse", f"{TAG_NAMESPACE}/{tag}^{{commit}}").strip()


def current_version(root: Path, tags: list[str]) -> str:
    """The release the fork is on: .aip-template.yaml; else the newest upstream tag HEAD contains (a
    real fork, shared history); else pipelines/__init__.py's version (a fork made from the template
    before it had the answers file)."""
    answers = read_answers(root)
    if answers:
        return _tag(answers.version)
    for tag in reversed(tags):
        try:
            git(root, "merge-base", "--is-ancestor", _commit_of(root, tag), "HEAD")
            return tag
        except GitError:
            continue
    try:
        return _tag(code_version(root))
    except TemplateError:
        raise TemplateError(
            f"cannot tell which template release this repository is on: no {ANSWERS_FILE}, no upstream "
            "tag in its history, no pipelines/__init__.py version; write the file (docs/upgrading.md)"
        ) from None


def _pick(tags: list[str], to: str) -> str:
    if to == "latest":
        released = [t for t in tags if parse_version(t)[3] == 1]
        if not released:
            raise TemplateError(f"the upstream has no release tag vX.Y.Z (tags: {', '.join(tags) or 'none'})")
        return released[-1]
    tag = _tag(to)
    if tag not in tags:
        raise TemplateError(f"the upstream has no tag {tag} (release tags: {', '.join(tags) or 'none'})")
    return tag


# ---------------------------------------------------------------- derived files and rendering
def derived_paths(root: Path) -> set[str]:
    """The files that follow from platform.yaml (pipelines/fork/render.py): a merge conflict in one of
    them takes the upstream's text, which `aip render` and `aip catalog build` then regenerate."""
    from pipelines.fork import render

    return render.derived_paths(root)


def run_render(root: Path) -> tuple[bool, str]:
    """`aip render`, then `aip catalog build`, in the fork with the fork's (merged) engine: (succeeded,
    their output)."""
    env = {**os.environ, "AIP_REPO": str(root)}
    outputs: list[str] = []
    for command in (["render"], ["catalog", "build", "--no-html"]):
        proc = subprocess.run(
            [sys.executable, "-m", "pipelines", *command],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT_S,
            check=False,
        )
        outputs.append((proc.stdout + proc.stderr).strip())
        if proc.returncode != 0:
            return False, "\n".join(outputs)
    return True, "\n".join(outputs)


# ---------------------------------------------------------------- the update
@dataclass
class UpdateResult:
    upstream: str
    from_version: str
    to_version: str
    branch: str = ""
    base_branch: str = ""
    commit: str = ""
    """The merge commit on `branch` ("" when up to date)."""
    regenerated: list[str] = field(default_factory=list)
    """Derived files `aip render` rewrote after the merge."""
    platform_kept: bool = False
    """platform.yaml conflicted: the fork's side of each conflicting hunk was kept."""
    derived_resolved: list[str] = field(default_factory=list)
    """Derived files that conflicted: the upstream's text, then rendered."""
    conflicts: list[str] = field(default_factory=list)
    """Files committed with conflict markers: a human resolves them on the branch."""
    render_error: str = ""
    grafted: bool = False
    """No shared history: the release the fork was made from was recorded as merged first."""
    changelog: list[Release] = field(default_factory=list)
    changelog_error: str = ""
    body: str = ""

    @property
    def up_to_date(self) -> bool:
        return not self.commit

    @property
    def clean(self) -> bool:
        return not self.conflicts and not self.render_error

    @property
    def title(self) -> str:
        return f"Template update: {self.from_version} → {self.to_version}"


def _identity(root: Path) -> bool:
    """Whether git needs the engine's identity for a commit (a CI runner has none configured)."""
    try:
        return not git(root, "config", "user.email").strip()
    except GitError:
        return True


def update(
    root: Path,
    upstream: str | None = None,
    to: str = "latest",
    branch: str | None = None,
    render: Callable[[Path], tuple[bool, str]] = run_render,
    progress: Callable[[str], None] = print,
) -> UpdateResult:
    """Merge the upstream release `to` into a new branch `branch` (default template/update-<tag>) of the
    fork at `root`, as the module docstring says; leaves that branch checked out."""
    url = resolve_upstream(root, upstream)
    if git(root, "status", "--porcelain", "--untracked-files=no").strip():
        raise TemplateError(f"{root}: uncommitted changes to tracked files; commit or stash them first")
    untracked = _untracked(root)  # the user's own untracked files stay out of the update's commit
    progress(f"fetching the tags of {url}")
    tags = _fetch_tags(root, url)
    target = _pick(tags, to)
    current = current_version(root, tags)
    result = UpdateResult(
        upstream=upstream or _display_upstream(root, url), from_version=current, to_version=target
    )
    if parse_version(current) >= parse_version(target):
        progress(f"up to date: this repository is on {current}, the upstream's {to} is {target}")
        return result
    target_commit = _commit_of(root, target)
    result.base_branch = git(root, "rev-parse", "--abbrev-ref", "HEAD").strip()
    if result.base_branch == "HEAD":
        raise TemplateError(f"{root}: detached HEAD; check out the branch the update is for (e.g. main)")
    result.branch = branch or f"template/update-{target}"
    identity = _identity(root)
    git(root, "switch", "--quiet", "-C", result.branch)
    progress(
        f"merging {target} ({target_commit[:12]}) into {result.branch} (this repository is on {current})"
    )

    try:
        git(root, "merge-base", "HEAD", target_commit)
    except GitError:  # "Use this template" copies the files, not the history
        base = _base_commit(root, current, tags)
        git(
            root, "merge", "--quiet", "-s", "ours", "--allow-unrelated-histories", "--no-edit",
            "-m", f"template: record {current} as merged (this repository was made from it)", base,
            identity=identity,
        )  # fmt: skip
        result.grafted = True
        progress(f"no shared history: recorded {current} ({base[:12]}) as this repository's base")

    try:
        git(root, "merge", "--quiet", "--no-ff", "--no-commit", target_commit, identity=identity)
    except GitError:
        if not git(root, "ls-files", "--unmerged").strip():
            raise  # not a conflict: git refused to start the merge (its message says why)
    _resolve(root, result, derived_paths(root), progress)

    git(root, "add", "--update")  # the resolutions; files the merge added are staged already
    ok, output = render(root)
    if not ok:
        result.render_error = output or "aip render failed without output"
        progress(f"aip render failed:\n{result.render_error}")
    changed = set(git(root, "diff", "--name-only").splitlines()) | (_untracked(root) - untracked)
    result.regenerated = sorted(changed)
    for rel in result.regenerated:
        progress(f"regenerated {rel}")
    write_answers(root, Answers(result.upstream, target, target_commit))
    git(root, "add", "--all", "--", ANSWERS_FILE, *result.regenerated)  # never the user's other files
    message = f"template: update to {target} from {result.upstream} (was {current})"
    git(root, "commit", "--quiet", "--no-verify", "-m", message, identity=identity)
    result.commit = git(root, "rev-parse", "HEAD").strip()

    try:
        text = git(root, "show", f"{target_commit}:{CHANGELOG}")
        result.changelog = changelog_between(parse_changelog(text, f"{target}:{CHANGELOG}"), current, target)
    except (GitError, TemplateError) as exc:
        result.changelog_error = str(exc)
    result.body = pull_request_body(result)
    return result


def _untracked(root: Path) -> set[str]:
    return set(git(root, "ls-files", "--others", "--exclude-standard").splitlines())


def _display_upstream(root: Path, url: str) -> str:
    """How the answers file names the upstream: platform.yaml's owner/name when that is what was fetched."""
    answers = read_answers(root)
    slug = answers.upstream if answers else platform_upstream(root)
    return slug or url


def _base_commit(root: Path, current: str, tags: list[str]) -> str:
    if current in tags:
        return _commit_of(root, current)
    answers = read_answers(root)
    if answers:
        try:
            git(root, "cat-file", "-e", f"{answers.commit}^{{commit}}")
            return answers.commit
        except GitError:
            pass
    raise TemplateError(
        f"this repository shares no history with the upstream, and the upstream has no tag {current} "
        f"(the release it was made from, per {ANSWERS_FILE} or pipelines/__init__.py) to merge from"
    )


def _resolve(root: Path, result: UpdateResult, derived: set[str], progress: Callable[[str], None]) -> None:
    """Settle each conflicted file by kind (module docstring, step 3); stage every one."""
    unmerged = sorted(set(git(root, "diff", "--name-only", "--diff-filter=U").splitlines()))
    for rel in unmerged:
        stages = {
            line.split(maxsplit=3)[2] for line in git(root, "ls-files", "--unmerged", "--", rel).splitlines()
        }
        if rel == PLATFORM and {"2", "3"} <= stages:
            _merge_keep_ours(root, rel, stages)
            result.platform_kept = True
            progress(f"conflict in {rel}: kept this repository's side of the conflicting lines")
        elif rel in derived:
            if "3" in stages:
                git(root, "checkout", "--theirs", "--", rel)
                git(root, "add", "--", rel)
            else:  # deleted upstream
                git(root, "rm", "--quiet", "--", rel)
            result.derived_resolved.append(rel)
            progress(f"conflict in {rel} (derived): took the upstream's, to be rendered")
        else:
            if (root / rel).exists():
                git(root, "add", "--", rel)
            else:
                git(root, "rm", "--quiet", "--", rel)
            result.conflicts.append(rel)
            progress(f"CONFLICT in {rel}: left with conflict markers for a human")


def _merge_keep_ours(root: Path, rel: str, stages: set[str]) -> None:
    """Three-way merge of `rel` from the index stages, the fork's side winning each conflicting hunk."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for stage in ("2", "1", "3"):
            path = Path(tmp) / f"stage{stage}"
            path.write_text(git(root, "show", f":{stage}:{rel}") if stage in stages else "")
            files.append(str(path))
        merged = git(root, "merge-file", "-p", "--ours", *files)
    (root / rel).write_text(merged)
    git(root, "add", "--", rel)


def pull_request_body(result: UpdateResult) -> str:
    """The update pull request's description: what changed upstream, what was regenerated, what is left."""
    short = result.commit[:12]
    lines = [
        f"## {result.title}",
        "",
        f"`aip template update` merged the template release **{result.to_version}** from "
        f"`{result.upstream}` into `{result.branch}` ({short}) with `git merge`; this repository was on "
        f"{result.from_version}. Its platform.yaml values are kept; the files derived from platform.yaml "
        "were regenerated by `aip render` (docs/upgrading.md).",
    ]
    if result.grafted:
        lines += [
            "",
            f'This repository shares no history with the template (made with "Use this template"): the '
            f"branch first records {result.from_version} as merged, so the merge is three-way from it.",
        ]
    lines += ["", "### Conflicts left for a human", ""]
    if result.conflicts:
        lines.append("These files are committed **with conflict markers**; resolve them on this branch:")
        lines += [f"- [ ] `{rel}`" for rel in result.conflicts]
        lines += [
            "",
            f"`git fetch origin {result.branch} && git switch {result.branch}`, edit, commit, push.",
        ]
    else:
        lines.append("None.")
    if result.render_error:
        lines += ["", "**`aip render` failed** after the merge; derived files may be stale:", "", "```"]
        lines += [result.render_error[-3000:], "```"]
    if result.platform_kept:
        lines += [
            "",
            f"`platform.yaml` conflicted: this repository's side of each conflicting hunk was kept and the "
            f"upstream's other changes taken. Review what the template changed: "
            f"`git diff {result.from_version} {result.to_version} -- platform.yaml` (tags fetched into "
            f"{TAG_NAMESPACE}/).",
        ]
    lines += ["", "### Files regenerated from platform.yaml", ""]
    lines += [f"- `{rel}`" for rel in result.regenerated] or [
        "None (the merged files already held this repository's values)."
    ]
    if result.derived_resolved:
        lines += ["", "Derived files that conflicted (the template's text taken, then rendered): "]
        lines[-1] += ", ".join(f"`{rel}`" for rel in result.derived_resolved)
    lines += ["", f"### Changelog {result.from_version} → {result.to_version}", ""]
    if result.changelog:
        lines.append(format_releases(result.changelog, level=4).rstrip())
    else:
        lines.append(f"The release has no changelog to show: {result.changelog_error or 'no sections'}.")
    lines += [
        "",
        "### Checks",
        "",
        "template-sync.yml runs `make lint` and `make test-fast` on this branch; pr.yml runs every check "
        "on this pull request when it was opened with `PROMOTION_TOKEN` (the default token's pull requests "
        "start no workflows).",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- GitHub: push, pull request, release
def push_branch(root: Path, branch: str, token: str, remote: str = "origin") -> None:
    """Push `branch` to `remote` (force: the branch belongs to the update), authenticated with `token`.

    The token travels as an HTTP header in git's environment (GIT_CONFIG_*), the way actions/checkout
    passes it, never on the command line or in .git/config; a local-path remote ignores it."""
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
    env = {
        **os.environ,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
        "GIT_TERMINAL_PROMPT": "0",
    }
    command = ["git", "push", "--quiet", "--force", remote, f"refs/heads/{branch}:refs/heads/{branch}"]
    proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        message = proc.stderr.replace(token, "***").replace(basic, "***").strip()
        raise TemplateError(f"git push {remote} {branch} failed in {root}: {message}")


def open_pull_request(
    root: Path, result: UpdateResult, github: GitHub, remote: str = "origin"
) -> PullRequest:
    """Push the update branch and open (or update) its pull request into the branch it started from."""
    push_branch(root, result.branch, github.token, remote)
    return github.open_or_update_pull_request(
        head=result.branch, base=result.base_branch, title=result.title, body=result.body, labels=(LABEL,)
    )


def release_notes(root: Path, tag: str) -> str:
    """The CHANGELOG section of `tag`, which must be the checkout's version (pipelines/__init__.py)."""
    version = _tag(tag).removeprefix("v")
    if code_version(root) != version:
        raise TemplateError(
            f"tag {tag} does not match pipelines/__init__.py's __version__ {code_version(root)}: bump the "
            "version (and pyproject.toml's) in the commit the tag points at"
        )
    releases = parse_changelog((root / CHANGELOG).read_text())
    return format_releases(changelog_between(releases, None, version)[:1], level=2)


def publish_release(root: Path, tag: str, github: GitHub) -> dict[str, Any]:
    """Create the GitHub release of `tag` with its CHANGELOG section (or update its text); GitHub's answer."""
    from pipelines.http import HttpError

    notes = release_notes(root, tag)
    body = notes.split("\n", 1)[1].strip() if "\n" in notes else ""
    payload = {"tag_name": tag, "name": tag, "body": body, "prerelease": parse_version(tag)[3] == 0}
    try:
        answer: dict[str, Any] = github.post("releases", payload)
    except HttpError as exc:
        if exc.status != 422:  # 422 already_exists: a rerun of the workflow
            raise
        existing = github.get(f"releases/tags/{tag}")
        answer = github.patch(f"releases/{existing['id']}", payload)
    return answer
