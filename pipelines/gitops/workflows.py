"""House rules for workflows that actionlint and zizmor do not check (`aip guard workflows`), and the
commands the steps name (`aip ci check-commands`).

actionlint checks syntax, expressions and shell; zizmor checks security (injection, unpinned actions,
credentials, dangerous triggers). These rules are the template's own, each with a code:

    AIP001  the file starts with a comment: what it does, when it runs, what it needs
    AIP002  `permissions: {}` at the top (each job asks for the least it needs)
    AIP003  no `pull_request_target` trigger
    AIP004  every `run:` step is one `make` or `aip` command (no pipes, `&&`, `;`, redirections), or one
            of the few cloud CLI commands in EXTERNAL_COMMANDS (`aws eks update-kubeconfig`: the
            kubeconfig a Kubernetes deploy needs, written by the cloud's own CLI)
    AIP005  no `${{ ... }}` in `run:`: values reach the shell through `env:`
    AIP006  every action pinned to a full commit SHA with its version in a comment (`@<sha> # v1.2.3`)
    AIP007  `actions/checkout` with `persist-credentials: false`
    AIP008  a job on a self-hosted (or computed) runner in a workflow that pull requests trigger has
            the fork guard in its `if:` (`github.event.pull_request.head.repo.full_name == github.repository`)
    AIP009  a job with an `environment:` is in a `concurrency:` group with `cancel-in-progress: false`

`check_commands` is the static check of what the steps run: every `run:` step of every workflow is one
make target that exists, an `aip` command line that `aip`'s own parser accepts (the CLI hands that check
in as `usage_problem`: gitops never imports the CLI), or an EXTERNAL_COMMANDS command, and every
repository path it names exists. Workflows themselves run under nektos/act in tests/workflows/.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.git import git

__all__ = ["EXTERNAL_COMMANDS", "Finding", "UsageProblem", "check_commands", "check_file", "check_files"]

COMMANDS = ("make", "aip", ".venv/bin/aip")  # what a thin `run:` step may start with
# Commands of other tools a step may be, as argv prefixes (still one command, no shell syntax).
EXTERNAL_COMMANDS = (("aws", "eks", "update-kubeconfig"),)
_SHELL_META = re.compile(r"(&&|\|\||[;|<>`]|\$\(|\n)")
_PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
_VERSION_COMMENT = re.compile(r"#\s*v?\d+(\.\d+)*")
UsageProblem = Callable[[list[str]], str | None]
"""`aip ARGV` → None when the CLI's parser accepts it, else its complaint (pipelines.cli.usage)."""
_PR_TRIGGERS = {"pull_request", "pull_request_review", "pull_request_review_comment"}
FORK_GUARDS = (
    "github.event.pull_request.head.repo.full_name == github.repository",
    "!github.event.pull_request.head.repo.fork",
)


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule} {self.message}"


def _line(node: Any, key: str | int | None = None) -> int:
    """1-based line of a mapping key (or sequence item) in a ruamel round-trip node."""
    try:
        if key is None:
            return int(node.lc.line) + 1
        if isinstance(key, int):
            return int(node.lc.item(key)[0]) + 1
        return int(node.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return 1


def _triggers(doc: Any) -> set[str]:
    on = doc.get("on", doc.get(True))
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return {str(t) for t in on}
    if isinstance(on, dict):
        return {str(t) for t in on}
    return set()


def _runs_on_self_hosted(runs_on: Any) -> bool:
    """True for self-hosted labels, and for computed labels (an expression may pick a self-hosted runner)."""
    if isinstance(runs_on, str):
        return "self-hosted" in runs_on or "${{" in runs_on
    if isinstance(runs_on, list):
        return any(_runs_on_self_hosted(x) for x in runs_on)
    # runner groups (a mapping) are self-hosted or larger runners configured by the organisation
    return isinstance(runs_on, dict)


def _no_cancel(concurrency: Any) -> bool:
    return isinstance(concurrency, dict) and concurrency.get("cancel-in-progress") is False


def check_file(path: Path, display: str | None = None) -> list[Finding]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    name = display or str(path)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    try:
        doc = YAML(typ="rt").load(text)
    except YAMLError as exc:
        return [Finding(name, 1, "AIP000", f"not valid YAML: {exc}")]
    if not isinstance(doc, dict):
        return [Finding(name, 1, "AIP000", "expected a mapping with `on:` and `jobs:`")]
    found: list[Finding] = []

    def add(line: int, rule: str, message: str) -> None:
        found.append(Finding(name, line, rule, message))

    if not lines or not lines[0].startswith("#"):
        add(1, "AIP001", "no comment at the top: say what the workflow does, when it runs, what it needs")
    if "permissions" not in doc:
        add(1, "AIP002", "no top-level `permissions:` block; expected `permissions: {}` (least per job)")
    elif doc["permissions"] != {}:
        add(_line(doc, "permissions"), "AIP002", "top-level `permissions:` must be `{}`; grant per job")
    triggers = _triggers(doc)
    if "pull_request_target" in triggers:
        add(
            _line(doc, "on"),
            "AIP003",
            "`pull_request_target` runs fork code with secrets; use `pull_request`",
        )
    workflow_no_cancel = _no_cancel(doc.get("concurrency"))
    jobs = doc.get("jobs") or {}
    for job_id, job in jobs.items():
        if not isinstance(job, dict):
            continue
        where = f"job `{job_id}`"
        if "environment" in job and not (workflow_no_cancel or _no_cancel(job.get("concurrency"))):
            add(
                _line(jobs, job_id),
                "AIP009",
                f"{where} deploys to an environment but has no `concurrency:` group with "
                "`cancel-in-progress: false` (deploys to one environment must queue, never overlap)",
            )
        if triggers & _PR_TRIGGERS and "uses" not in job and _runs_on_self_hosted(job.get("runs-on")):
            condition = " ".join(str(job.get("if", "")).split())
            if not any(guard in condition for guard in FORK_GUARDS):
                add(
                    _line(job, "runs-on"),
                    "AIP008",
                    f"{where} runs on a self-hosted or computed runner and pull requests trigger this "
                    f"workflow, but its `if:` lacks the fork guard `{FORK_GUARDS[0]}`",
                )
        if "uses" in job:  # a reusable workflow call
            _check_uses(str(job["uses"]), _line(job, "uses"), lines, f"{where}", add)
        for index, step in enumerate(job.get("steps") or []):
            if not isinstance(step, dict):
                continue
            label = f"{where}, step {index + 1}" + (f" `{step['name']}`" if "name" in step else "")
            if "run" in step:
                line = _line(step, "run")
                script = str(step["run"]).strip()
                if "${{" in script:
                    add(line, "AIP005", f"{label}: `${{{{ ... }}}}` inside `run:`; pass it through `env:`")
                words = script.split()
                external = any(tuple(words[: len(p)]) == p for p in EXTERNAL_COMMANDS)
                if not words or not (words[0] in COMMANDS or external) or _SHELL_META.search(script):
                    add(
                        line,
                        "AIP004",
                        f"{label}: `run:` must be one `make` or `aip` command, got {script[:80]!r}",
                    )
            if "uses" in step:
                uses = str(step["uses"])
                _check_uses(uses, _line(step, "uses"), lines, label, add)
                if uses.startswith("actions/checkout@"):
                    with_ = step.get("with") or {}
                    if with_.get("persist-credentials") is not False:
                        add(
                            _line(step, "uses"),
                            "AIP007",
                            f"{label}: actions/checkout without `persist-credentials: false` leaves the "
                            "token in .git/config for every later step",
                        )
    return found


def _check_uses(uses: str, line: int, lines: list[str], label: str, add: Any) -> None:
    if uses.startswith("./") or uses.startswith("docker://"):
        return
    if not _PINNED.match(uses):
        add(line, "AIP006", f"{label}: `{uses}` is not pinned to a full 40-character commit SHA")
        return
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    if not _VERSION_COMMENT.search(text.partition(uses)[2]):
        add(line, "AIP006", f"{label}: `{uses}` has no version comment (`# v1.2.3`) after the SHA")


def check_files(paths: list[Path], root: Path | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for path in paths:
        display = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
        findings += check_file(path, display)
    return findings


# ---- the commands the steps name ----------------------------------------------------------
def _make_targets(root: Path) -> set[str]:
    proc = subprocess.run(["make", "-pRrq", "-C", str(root)], capture_output=True, text=True, check=False)
    targets = set()
    for line in proc.stdout.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+):(?!=)", line)
        if match:
            targets.add(match.group(1))
    return targets


def check_commands(workflows: list[Path], root: Path, usage_problem: UsageProblem) -> list[str]:
    """Problems with the commands and paths that the workflows' `run:` steps name (empty: all exist).

    `usage_problem` judges `aip` command lines (the CLI passes pipelines.cli.usage.usage_problem)."""
    from ruamel.yaml import YAML

    targets = _make_targets(root)
    tracked = set(git(root, "ls-files", "-co", "--exclude-standard").splitlines())
    folders = {str(Path(p).parent) for p in tracked} | {
        str(p) for parent in tracked for p in Path(parent).parents
    }
    problems = []
    for workflow in workflows:
        doc = YAML(typ="safe").load(workflow.read_text(encoding="utf-8"))
        for job_id, job in (doc.get("jobs") or {}).items():
            if "uses" in job and str(job["uses"]).startswith("./") and not (root / job["uses"]).is_file():
                problems.append(
                    f"{workflow.name}: job {job_id}: reusable workflow {job['uses']} does not exist"
                )
            for step in job.get("steps") or []:
                if "working-directory" in step and not (root / step["working-directory"]).is_dir():
                    problems.append(f"{workflow.name}: job {job_id}: no folder {step['working-directory']}")
                if "run" not in step:
                    continue
                where = f"{workflow.name}: job {job_id}: `{str(step['run']).strip()}`"
                words = shlex.split(
                    re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", "PLACEHOLDER", str(step["run"]))
                )
                if not words:
                    problems.append(f"{where}: empty")
                    continue
                if words[0] == "make":
                    for target in (w for w in words[1:] if not w.startswith("-") and "=" not in w):
                        if target not in targets:
                            problems.append(f"{where}: make target `{target}` does not exist")
                elif words[0] in ("aip", ".venv/bin/aip"):
                    if (problem := usage_problem(words[1:])) is not None:
                        problems.append(f"{where}: {problem}")
                elif not any(tuple(words[: len(p)]) == p for p in EXTERNAL_COMMANDS):
                    problems.append(f"{where}: not a make or aip command (nor one of EXTERNAL_COMMANDS)")
                for word in words[1:]:
                    value = word.split("=", 1)[-1]
                    first = value.split("/")[0]
                    names_repo_path = "/" in value and (first in folders or (root / first).exists())
                    if (
                        names_repo_path
                        and "PLACEHOLDER" not in value
                        and not first.startswith(".aip")
                        and not (root / value).exists()
                    ):
                        problems.append(f"{where}: path {value} does not exist")
    return problems
