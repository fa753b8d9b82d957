"""pr.yml run for real by nektos/act: the guard on a pull request into an environment branch, and the
smoke train + evaluate + metrics comment of a pull request into main that changes the tabular model.

act replaced `aip ci local-run` (retired): it reads the workflow file itself (expressions, `needs`,
matrices, outputs, `if:`), so what runs here is what GitHub runs, minus what act does not emulate:
- `on.pull_request.branches`, `merge_group` and `push` filters: act runs the workflow for the event it
  is given (the triggers are linted by actionlint; tests/workflows/test_workflow_rules.py);
- `concurrency` (cancel-in-progress per PR), `permissions` and the read-only token of fork PRs: house
  rules AIP002/AIP008 and zizmor (test_workflow_rules.py);
- the required check `pr-ok` in branch protection (repository settings, docs/gitops.md);
- posting the PR comment (no GitHub API here: `aip ci comment` renders it into the job summary; the
  posting is tests/workflows/test_ci_helpers.py against a stand-in API).
Only the jobs named run (`-j`, with the jobs they need): `make test` would run this suite recursively,
and lint/pre-commit run in `make lint`/pre-commit on every change anyway.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.act import REPOSITORY, act_repo, push, run_act
from tests.support.git import git
from tests.support.registry import TEXT, TUMOR

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def pull_request(repo: Path, base: str, head: str) -> dict[str, Any]:
    return {
        "number": 7,
        "pull_request": {
            "number": 7,
            "title": "a change",
            "head": {
                "ref": head,
                "sha": git(repo, "rev-parse", "HEAD"),
                "repo": {"full_name": REPOSITORY},
            },
            "base": {"ref": base, "sha": git(repo, "rev-parse", f"origin/{base}")},
        },
        "repository": {"full_name": REPOSITORY},
    }


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pull request branch that changes the tumour model's description (the text model removed)."""
    root = act_repo(tmp_path_factory.mktemp("act-pr") / "repo")
    shutil.rmtree(root / "models" / TEXT)
    git(root, "commit", "-qam", "only the tabular model")
    push(root, "main")
    git(root, "checkout", "-q", "-b", "feature/describe")
    card = root / "models" / TUMOR / "model.yaml"
    card.write_text(card.read_text().replace("description:", "description: (reworded)", 1))
    git(root, "commit", "-qam", "tumor: reword the description")
    return root


def test_a_feature_branch_into_prod_fails_the_guard_job(repo: Path, tmp_path: Path):
    run = run_act(
        repo,
        "pr.yml",
        "pull_request",
        pull_request(repo, "env/prod", "feature/describe"),
        scratch=tmp_path,
        job="guard",
    )
    assert run.results.get("guard") == ["failure"], (run.results, run.tail())
    assert (
        "pull request into env/prod comes from feature/describe; expected main or env/staging"
        in run.output("guard")
    )


def test_smoke_trains_and_evaluates_the_changed_model_and_renders_the_comment(repo: Path, tmp_path: Path):
    run = run_act(
        repo,
        "pr.yml",
        "pull_request",
        pull_request(repo, "main", "feature/describe"),
        scratch=tmp_path,
        job="comment",
    )
    assert run.results.get("plan") == ["success"], (run.results, run.tail())
    assert run.results.get("smoke") == ["success"], (run.results, run.tail())
    assert run.results.get("comment") == ["success"], (run.results, run.tail())
    assert f'"model": "{TUMOR}"' in run.output("plan") and TEXT not in run.output("plan")
    comment = run.output("comment")  # no GitHub API: the comment goes to the job summary
    assert f"### {TUMOR}" in comment and "| accuracy |" in comment, comment[-3000:]
    print(f"pr.yml plan + smoke + comment under act: {run.seconds:.0f} s")
