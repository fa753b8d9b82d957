"""tune.yml and features.yml dispatched for real by nektos/act: the plan jobs turn the inputs into the
matrix, the study name and the runner, and without AIP_GPU_RUNNERS no self-hosted job is queued.

The worker, propose and materialize jobs run `aip tune` / `aip features materialize` against the
environment's private Postgres and Redis from a runner inside its cluster; here they are covered by the
commands' own tests (tests/tune, tests/features: real Postgres and Redis on 127.0.0.1) and by
tests/workflows/test_augmentation_workflows.py (the jobs' shape and the tuning PR on the recorded GitHub
API). act does not emulate `concurrency`, environments or `permissions` (tests/support/act.py).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.support.act import act_repo, run_act
from tests.support.repo import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The scratch repository links this checkout's .venv: with a stale install stamp, the jobs' `make
    # setup` would reinstall the engine into it from the scratch copy (pointing .venv/bin/aip there).
    files = ("requirements/lock.txt", "requirements/nodeps.txt", "pyproject.toml")
    want = hashlib.sha256(b"".join((REPO_ROOT / f).read_bytes() for f in files)).hexdigest()
    stamp = REPO_ROOT / ".venv" / ".aip-installed"
    if not stamp.is_file() or stamp.read_text().strip() != want:
        pytest.fail("the .venv's install stamp is stale: run `make setup` before the act tests")
    return act_repo(tmp_path_factory.mktemp("act-augmentation") / "repo")


def outputs(log: str) -> dict[str, str]:
    """`::set-output:: name=value` lines of a job's log (how act prints step outputs)."""
    found = {}
    for line in log.splitlines():
        if "::set-output:: " in line:
            name, _, value = line.split("::set-output:: ", 1)[1].partition("=")
            found[name] = value
    return found


def test_tune_plans_one_study_for_its_workers_and_queues_nothing_without_runners(repo: Path, tmp_path: Path):
    run = run_act(
        repo,
        "tune.yml",
        "workflow_dispatch",
        {"inputs": {"model": "tumor-classifier", "trials": "3", "workers": "3", "environment": "dev"}},
        scratch=tmp_path,
        runners=("ubuntu-24.04", "aip-dev-gpu"),
    )
    assert run.results.get("plan") == ["success"], run.tail()
    got = outputs(run.output("plan"))
    assert json.loads(got["matrix"]) == {"worker": [1, 2, 3]}
    assert got["study"].startswith("tumor-classifier-") and got["dataset"] == "breast-cancer"
    assert json.loads(got["runner"]) == "aip-dev-gpu"  # platform.yaml's scale set for dev
    assert "has not configured AIP_GPU_RUNNERS" in run.output("plan")
    assert not run.ran("tune") and not run.ran("propose"), run.results
    print(f"tune.yml plan under act: {run.seconds:.0f} s")


def test_tune_refuses_an_unknown_model_in_its_plan(repo: Path, tmp_path: Path):
    run = run_act(
        repo,
        "tune.yml",
        "workflow_dispatch",
        {"inputs": {"model": "no-such-model", "trials": "3", "workers": "2", "environment": "dev"}},
        scratch=tmp_path,
        runners=("ubuntu-24.04", "aip-dev-gpu"),
        variables={"AIP_GPU_RUNNERS": "true"},
    )
    assert run.results.get("plan") == ["failure"], run.tail()
    assert "unknown model 'no-such-model'" in run.output("plan")
    assert not run.ran("tune"), run.results


def test_features_plans_every_environment_and_feature_dataset(repo: Path, tmp_path: Path):
    run = run_act(
        repo,
        "features.yml",
        "workflow_dispatch",
        {"inputs": {"environment": ""}},
        scratch=tmp_path,
        runners=("ubuntu-24.04",),
    )
    assert run.results.get("plan") == ["success"], run.tail()
    got = outputs(run.output("plan"))
    include = json.loads(got["matrix"])["include"]
    assert {i["environment"] for i in include} == {"dev", "staging", "prod"} and got["any"] == "true"
    assert not run.ran("materialize"), run.results  # no AIP_GPU_RUNNERS: nothing queued
