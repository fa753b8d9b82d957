"""The tuning workflow's plan and pull request (.github/workflows/tune.yml; docs/tuning-infra.md).

    aip ci tune-plan MODEL --workers 4                      # matrix of workers, one study name per run
    aip tune MODEL --trials 20 --study S --env dev          # each worker (the matrix), one shared study
    aip tune MODEL --trials 0 --study S --env dev --write   # best trial -> models/MODEL/model.yaml
    aip ci tune-pr MODEL --study S                          # that model.yaml as a pull request into main

A changed model.yaml is all a retraining needs (its fingerprint includes the model config), so merging
the PR makes the deploy pipeline train, gate, register and canary the tuned model like any change.
The commit is made through the GitHub API (a branch `tune/<model>-<study>` from the base's tip, the
file put on it), so the workflow holds no git credentials; without a token the body is printed and
written to the job summary instead, and the command says the PR was not opened.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import AipError
from pipelines.git import GitError, git
from pipelines.gitops.retrain import Proposal

if TYPE_CHECKING:
    from pipelines.github import GitHub
    from pipelines.repo.layout import Repo

__all__ = ["MAX_WORKERS", "TUNING_LABEL", "TuneCiError", "study_name", "tune_plan", "tune_proposal"]

TUNING_LABEL = "tuning"
MAX_WORKERS = 16  # a bound on one dispatch: each worker holds a GPU runner for the whole run
_STUDY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # also a branch-name component


class TuneCiError(AipError):
    """A tuning step that cannot go on (unknown model, bad study name, unreadable summary)."""


def study_name(model: str, run_id: str | None = None, attempt: str | None = None) -> str:
    """One study per workflow run: `<model>-<run id>-<attempt>` in Actions (every worker of the run
    computes the same name), `<model>-local-<UTC time>` on a laptop."""
    run_id = run_id if run_id is not None else os.environ.get("GITHUB_RUN_ID", "")
    attempt = attempt if attempt is not None else os.environ.get("GITHUB_RUN_ATTEMPT", "1")
    if run_id:
        return f"{model}-{run_id}-{attempt or '1'}"
    return f"{model}-local-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"


def _check_model(repo: Repo, model: str) -> None:
    if model not in repo.model_names():
        raise TuneCiError(f"unknown model {model!r} (models/ has: {', '.join(repo.model_names())})")


def _check_study(study: str) -> None:
    if not _STUDY.match(study):
        raise TuneCiError(
            f"study name {study!r}: expected 1-100 letters, digits, '.', '_' or '-' (it names a branch)"
        )


def tune_plan(repo: Repo, model: str, workers: int, study: str | None = None) -> dict[str, str]:
    """Step outputs: matrix (JSON: `workers` tuning workers), study (the one they share), workers and
    dataset (the model's, which each worker prepares)."""
    _check_model(repo, model)
    if not 1 <= workers <= MAX_WORKERS:
        raise TuneCiError(f"--workers {workers}: expected 1 to {MAX_WORKERS} (one GPU runner each)")
    name = study or study_name(model)
    _check_study(name)
    matrix = {"worker": list(range(1, workers + 1))}
    dataset = repo.model(model).dataset
    return {"matrix": json.dumps(matrix), "study": name, "workers": str(workers), "dataset": dataset}


def _committed(repo: Repo, path: str) -> str | None:
    try:
        return git(repo.root, "show", f"HEAD:{path}")
    except GitError:
        return None


def _summary_markdown(summary: Path | None) -> list[str]:
    """The `aip tune --json` summary as a table of its top-level values (whatever it holds)."""
    if summary is None:
        return []
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TuneCiError(f"{summary}: not a tuning summary (`aip tune --json`): {exc}") from None
    if not isinstance(data, dict):
        raise TuneCiError(f"{summary}: expected a JSON object (`aip tune --json`), got {type(data).__name__}")
    rows = ["| | |", "| --- | --- |"]
    for key, value in data.items():
        shown = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
        rows.append(f"| {key} | `{shown[:200]}` |")
    return ["### Study summary", "", *rows, ""]


def tune_body(model: str, study: str, env: str, diff: str, summary: Path | None) -> str:
    return "\n".join(
        [
            f"`aip tune {model} --study {study} --env {env}` finished; this PR writes the best trial's "
            f"parameters into `models/{model}/model.yaml`. Merging it retrains `{model}` with them: the "
            "normal gates (evaluation, behavioural tests, regression against the champion) and the canary "
            "decide whether the new version ships.",
            "",
            *_summary_markdown(summary),
            "### Change",
            "",
            "```diff",
            diff.rstrip("\n"),
            "```",
            "",
            f"The study stays in `{env}`'s study storage (platform.yaml `study_storage`) and its trials "
            "in MLflow, for comparison and resumption.",
            "",
            "_Opened by `aip ci tune-pr` (.github/workflows/tune.yml); docs/tuning-infra.md._",
        ]
    )


def tune_proposal(
    repo: Repo,
    model: str,
    study: str,
    gh: GitHub | None,
    *,
    env: str = "dev",
    base: str = "main",
    summary: Path | None = None,
) -> Proposal | None:
    """The pull request of the work tree's models/<model>/model.yaml; None when it equals HEAD's (the
    best trial changed nothing)."""
    _check_model(repo, model)
    _check_study(study)
    path = f"models/{model}/model.yaml"
    current = (repo.root / path).read_text(encoding="utf-8")
    committed = _committed(repo, path)
    if committed == current:
        return None
    diff = "".join(
        difflib.unified_diff(
            (committed or "").splitlines(keepends=True),
            current.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )
    branch = f"tune/{model}-{study}"
    title = f"tune {model}: best parameters of study {study}"
    body = tune_body(model, study, env, diff, summary)
    if gh is None:
        return Proposal("pull_request", title, body, branch)
    base_sha = gh.branch_sha(base)
    if base_sha is None:
        raise TuneCiError(f"{gh.slug}: base branch {base!r} does not exist")
    if gh.branch_sha(branch) is None:
        gh.create_branch(branch, base_sha)
    gh.put_file(branch, path, current.encode("utf-8"), title)
    pr = gh.open_or_update_pull_request(branch, base, title, body, labels=(TUNING_LABEL,))
    return Proposal("pull_request", title, body, branch, True, pr.created, pr.number, pr.url)
