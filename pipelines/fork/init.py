"""`aip init`: make the template yours in one command.

It asks for the organisation's values (flags, else prompts on a terminal), validates every one BEFORE
writing anything, writes them into platform.yaml (comments kept: targeted line edits, no YAML
round-trip), derives the environments' service URIs that still follow the template's naming, removes
the `TODO(fork)` markers it answered, renders the derived files (`aip render`) and prints the GitHub
settings the fork must create. Re-running it with the same values changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pipelines.config.platform import Organisation, PlatformConfig
from pipelines.errors import AipError


class InitError(AipError):
    """Bad or missing values for `aip init`; the message names each flag and the form it expects."""


@dataclass(frozen=True)
class Question:
    flag: str  # without the leading --
    key: str  # organisation key; `teams.<role>` for a team
    pattern: str
    form: str  # what a valid value looks like, for the error message
    prompt: str


SLUG = r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$"
REPO = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
TEAM = r"^[a-z0-9][a-z0-9_-]*$"
QUESTIONS = (
    Question(
        "org",
        "name",
        SLUG,
        "a lower-case slug such as acme-ml (prefixes cloud resources)",
        "Organisation slug",
    ),
    Question(
        "repo",
        "repository",
        REPO,
        "GitHub owner/name such as acme-ml/ml-platform",
        "GitHub repository of the fork",
    ),
    Question(
        "region", "region", r"^[a-z]{2}(-[a-z]+)+-[0-9]$", "a cloud region such as eu-west-1", "Cloud region"
    ),
    Question("account-id", "account_id", r"^[0-9]{12}$", "the 12-digit cloud account id", "Cloud account id"),
    Question(
        "domain",
        "domain",
        r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$",
        "a lower-case DNS name such as acme.internal (mlflow.<domain>, models.<env>.<domain>)",
        "Base DNS name",
    ),
    Question(
        "image-registry",
        "image_registry",
        r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+$",
        "a registry prefix such as ghcr.io/acme-ml (lower case, no trailing slash)",
        "Container registry prefix",
    ),
    Question(
        "upstream",
        "upstream",
        REPO,
        "GitHub owner/name of the template, such as example/ai-platform",
        "Template repository (upstream)",
    ),
    Question(
        "team-platform",
        "teams.platform",
        TEAM,
        "a GitHub team slug such as platform-team",
        "Platform team slug",
    ),
    Question("team-ml", "teams.ml", TEAM, "a GitHub team slug such as ml-engineers", "ML team slug"),
    Question("team-data", "teams.data", TEAM, "a GitHub team slug such as data-engineers", "Data team slug"),
    Question("team-sre", "teams.sre", TEAM, "a GitHub team slug such as sre", "SRE team slug"),
)
REQUIRED = ("org", "account-id")  # no sensible default: asked for (or named as missing) even with --yes


def _current(org: Organisation) -> dict[str, str]:
    teams = org.teams
    return {
        "name": org.name,
        "repository": org.repository,
        "region": org.region,
        "account_id": org.account_id,
        "domain": org.domain,
        "image_registry": org.image_registry,
        "upstream": org.upstream or org.repository,
        "teams.platform": teams.platform,
        "teams.ml": teams.ml,
        "teams.data": teams.data,
        "teams.sre": teams.sre,
    }


def defaults(current: Organisation, answers: Mapping[str, str]) -> dict[str, str]:
    """Defaults for the flags not given: derived from the answers (org) where the template's value
    names the template's organisation, else the current value."""
    cur = _current(current)
    org = answers.get("name", cur["name"])
    repo = answers.get("repository", f"{org}/{cur['repository'].split('/', 1)[1]}")
    owner = repo.split("/", 1)[0]
    out = dict(cur)
    out["repository"] = repo
    if cur["domain"] == f"{current.name}.internal":
        out["domain"] = f"{org}.internal"
    if cur["image_registry"] == f"ghcr.io/{current.github_owner}":
        out["image_registry"] = f"ghcr.io/{owner.lower()}"
    return out


def resolve(
    current: Organisation,
    given: Mapping[str, str | None],
    *,
    assume_yes: bool,
    ask: Callable[[Question, str | None], str] | None,
) -> dict[str, str]:
    """Every organisation value by key, from flags, then prompts (`ask`), then defaults (`--yes`).
    Raises InitError listing missing flags and every invalid value; nothing is written here."""
    answers: dict[str, str] = {}
    problems: list[str] = []
    missing: list[str] = []
    for q in QUESTIONS:
        value = given.get(q.flag)
        if value is not None:
            answers[q.key] = value.strip()
    for q in QUESTIONS:
        if q.key in answers:
            continue
        default = None if q.flag in REQUIRED else defaults(current, answers).get(q.key)
        if ask is not None and not assume_yes:
            answers[q.key] = ask(q, default).strip() or (default or "")
        elif default is not None and assume_yes:
            answers[q.key] = default
        else:
            missing.append(f"--{q.flag}")
    if missing:
        problems.append(
            f"missing {', '.join(missing)} (stdin is not a terminal, so aip init cannot ask; "
            "pass them as flags, or --yes to take the defaults of all but --org and --account-id)"
        )
    for q in QUESTIONS:
        value = answers.get(q.key)
        if value is not None and not re.match(q.pattern, value):
            problems.append(f"--{q.flag} {value!r}: expected {q.form}")
    if problems:
        raise InitError("aip init: nothing was written:\n  " + "\n  ".join(problems))
    return answers


# ---- platform.yaml, edited line by line so its comments stay -------------------------------------

_LINE = re.compile(
    r"^(?P<indent>\s*)(?P<key>[a-z_]+):(?P<gap>\s+)(?P<value>[^#\s][^#]*?)(?P<pad>\s*)(?P<comment>#.*)?$"
)


def _uncomment_todo(comment: str | None) -> str | None:
    """`# TODO(fork): your region` -> `# your region`; a bare `# TODO(fork)` goes."""
    if not comment or "TODO(fork)" not in comment:
        return comment
    rest = re.sub(r"TODO\(fork\):?\s*", "", comment.lstrip("#").strip()).strip()
    return f"# {rest}" if rest else None


def _set(line: str, value: str) -> str:
    m = _LINE.match(line)
    if m is None:
        raise InitError(f"platform.yaml: cannot edit line {line!r}")
    head = f"{m['indent']}{m['key']}:{m['gap']}{value}"
    comment = _uncomment_todo(m["comment"])
    if not comment:
        return head
    width = len(m["indent"]) + len(m["key"]) + 1 + len(m["gap"]) + len(m["value"]) + len(m["pad"])
    return head + " " * max(1, width - len(head)) + comment


def _yaml_scalar(key: str, value: str) -> str:
    return f'"{value}"' if key == "account_id" else value


def derived_uris(org_name: str, domain: str, env: str) -> dict[str, str]:
    """The template's naming of an environment's services (what `aip init` writes and re-derives)."""
    return {
        "tracking_uri": f"https://mlflow.{domain}",
        "artifact_store": f"s3://{org_name}-ml-artifacts/mlflow",
        "dvc_remote": f"s3://{org_name}-ml-data/dvc",
        "serving_endpoint": f"https://models.{env}.{domain}",
    }


def edit_platform_yaml(text: str, platform: PlatformConfig, answers: Mapping[str, str]) -> str:
    """platform.yaml's text with the organisation's values and the environments' derived URIs set.

    A URI is rewritten only while it still follows the template's naming for the CURRENT organisation
    (a fork that points an environment elsewhere keeps its value)."""
    org = platform.organisation
    lines = text.splitlines()
    section: list[str] = []  # the keys of the enclosing mappings
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = (len(line) - len(line.lstrip())) // 2
        key = stripped.split(":", 1)[0]
        section = section[:indent]
        path = [*section, key]
        section.append(key)
        dotted = ".".join(path)
        if dotted.startswith("organisation.") and dotted.removeprefix("organisation.") in answers:
            k = dotted.removeprefix("organisation.")
            lines[i] = _set(line, _yaml_scalar(k, answers[k]))
        elif len(path) == 3 and path[0] == "environments" and path[1] in platform.environments:
            env = path[1]
            old = derived_uris(org.name, org.domain, env)
            if key in old and getattr(platform.environments[env], key) == old[key]:
                new = derived_uris(answers["name"], answers["domain"], env)
                lines[i] = _set(line, new[key])
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def _check_platform_text(text: str) -> PlatformConfig:
    """The new platform.yaml parsed and validated from a scratch copy (nothing in the repo is written)."""
    import tempfile

    from pipelines.config import load_platform

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "platform.yaml"
        scratch.write_text(text)
        return load_platform(scratch)


def run(
    root: Path,
    given: Mapping[str, str | None],
    *,
    assume_yes: bool,
    ask: Callable[[Question, str | None], str] | None,
    progress: Callable[[str], None] = print,
) -> list[str]:
    """Resolve and validate the values, then write platform.yaml and render; returns the files changed.
    Every check (values, the new platform.yaml, every derived file rendered) runs before the first write."""
    from pipelines.config import load_platform
    from pipelines.fork import render

    path = root / "platform.yaml"
    platform = load_platform(path)
    answers = resolve(platform.organisation, given, assume_yes=assume_yes, ask=ask)
    text = path.read_text()
    new_text = edit_platform_yaml(text, platform, answers)
    new_platform = _check_platform_text(new_text)
    files = {"platform.yaml": new_text, **render.derived(root, new_platform)}
    return render.write_files(root, files, progress)
