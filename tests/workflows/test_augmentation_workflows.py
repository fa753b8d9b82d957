"""tune.yml and features.yml: the shape the house rules cannot see (who runs where, with which secret,
which command), their `aip ci` helpers, and the tuning pull request against the recorded GitHub API.

Static on purpose: the workflows run `aip tune` and `aip features materialize` on self-hosted runners
inside an environment's cluster (the study database and the online store are private), which act cannot
stand in for here; tests/tune and tests/features run those commands against a real Postgres and Redis.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from pipelines.cli.usage import usage_problem
from pipelines.github import GitHub
from pipelines.gitops.features_plan import FeaturesPlanError, features_plan
from pipelines.gitops.tune_pr import TUNING_LABEL, TuneCiError, study_name, tune_plan, tune_proposal
from pipelines.gitops.workflows import check_commands
from pipelines.repo.layout import Repo
from tests.support.git import git
from tests.support.github_api import RecordedGitHub
from tests.support.repo import REPO_ROOT, make_repo_copy

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
SLUG = "fixture-org/ai-platform"
MODEL = "tumor-classifier"


@pytest.fixture(scope="module")
def shared_repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """One repository copy for the tests that only read it."""
    return Repo.discover(make_repo_copy(tmp_path_factory.mktemp("augmentation") / "repo"))


def workflow(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def runs(job: dict) -> list[str]:
    return [" ".join(str(step["run"]).split()) for step in job["steps"] if "run" in step]


def permissions_read_and_oidc() -> dict[str, str]:
    """A job that reads the repository and assumes a cloud role by OIDC."""
    return {"contents": "read", "id-token": "write"}  # pragma: allowlist secret (a permission)


def step_env(job: dict, command: str) -> dict[str, str]:
    return next(step.get("env", {}) for step in job["steps"] if command in str(step.get("run", "")))


# -- tune.yml ----------------------------------------------------------------------------------------
def test_tune_is_dispatched_by_hand_for_the_training_environment_only():
    doc = workflow("tune.yml")
    assert set(doc["on"]) == {
        "workflow_dispatch"
    }  # never a pull request: its jobs run on self-hosted runners
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert {"model", "trials", "workers", "environment"} <= set(inputs)
    assert inputs["environment"]["options"] == ["dev"]  # the one environment with a study database
    assert doc["permissions"] == {}
    assert doc["concurrency"]["cancel-in-progress"] is False


def test_every_tuning_worker_joins_the_one_study_of_the_run_on_the_environments_runner():
    jobs = workflow("tune.yml")["jobs"]
    assert "aip ci tune-plan" in " ".join(runs(jobs["plan"]))
    tune = jobs["tune"]
    assert tune["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert tune["runs-on"] == "${{ fromJSON(needs.plan.outputs.runner) }}"
    assert tune["env"]["STUDY"] == "${{ needs.plan.outputs.study }}"  # one name, computed once
    assert '.venv/bin/aip tune "$MODEL" --trials "$TRIALS" --study "$STUDY" --env "$AIP_ENV"' in runs(tune)
    # the password reaches the step that needs it, never the whole job
    assert "AIP_STUDY_STORAGE_PASSWORD" not in json.dumps(tune["env"])
    assert (
        step_env(tune, "aip tune")["AIP_STUDY_STORAGE_PASSWORD"]
        == "${{ secrets.AIP_STUDY_STORAGE_PASSWORD }}"
    )
    assert tune["environment"] == "tuning"
    assert tune["permissions"] == permissions_read_and_oidc()


def test_the_best_trial_becomes_a_pull_request_after_every_worker():
    propose = workflow("tune.yml")["jobs"]["propose"]
    assert propose["needs"] == ["plan", "tune"]
    assert "needs.tune.result == 'success'" in propose["if"]
    commands = runs(propose)
    write = next(c for c in commands if c.startswith(".venv/bin/aip tune "))
    assert "--trials 0" in write and "--write" in write and '--study "$STUDY"' in write
    assert any(c.startswith(".venv/bin/aip ci tune-pr ") for c in commands)
    assert propose["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert propose["runs-on"] == "${{ fromJSON(needs.plan.outputs.runner) }}"  # the database is private


# -- features.yml ------------------------------------------------------------------------------------
def test_features_materialise_on_a_schedule_once_per_environment_and_dataset_at_a_time():
    doc = workflow("features.yml")
    assert set(doc["on"]) == {"schedule", "workflow_dispatch"}
    assert doc["permissions"] == {}
    job = doc["jobs"]["materialize"]
    assert job["runs-on"] == "${{ fromJSON(matrix.runner) }}"  # the online store is in the environment's VPC
    assert job["environment"] == "${{ matrix.environment }}-monitoring"  # main, no reviewers: it is scheduled
    assert job["concurrency"] == {
        "group": "features-${{ matrix.environment }}-${{ matrix.dataset }}",
        "cancel-in-progress": False,
    }
    assert '.venv/bin/aip features materialize "$DATASET" --env "$AIP_ENV"' in runs(job)
    assert step_env(job, "aip features materialize") == {
        "AIP_REDIS_PASSWORD": "${{ secrets.AIP_REDIS_PASSWORD }}"
    }
    assert job["permissions"] == permissions_read_and_oidc()


def test_the_redis_password_variable_is_the_one_platform_yaml_names():
    platform = yaml.safe_load((REPO_ROOT / "platform.yaml").read_text(encoding="utf-8"))
    names = {
        (env.get("online_store") or {}).get("password_env")
        for env in platform["environments"].values()
        if isinstance(env.get("online_store"), dict) and env["online_store"].get("type") == "redis"
    }
    assert names <= {"AIP_REDIS_PASSWORD"}, names  # features.yml passes this one secret


# -- the helpers -------------------------------------------------------------------------------------
def test_tune_plan_gives_one_matrix_entry_per_worker_and_one_study(shared_repo: Repo):
    plan = tune_plan(shared_repo, MODEL, 3, study=None)
    assert json.loads(plan["matrix"]) == {"worker": [1, 2, 3]}
    assert plan["dataset"] == "breast-cancer" and plan["workers"] == "3"
    assert study_name(MODEL, run_id="987", attempt="2") == f"{MODEL}-987-2"


@pytest.mark.parametrize(
    ("model", "workers", "study", "says"),
    [
        ("no-such-model", 2, None, "unknown model 'no-such-model'"),
        (MODEL, 0, None, "expected 1 to 16"),
        (MODEL, 17, None, "expected 1 to 16"),
        (MODEL, 2, "bad/name", "study name 'bad/name'"),
    ],
)
def test_tune_plan_refuses_bad_input_naming_it(shared_repo: Repo, model: str, workers: int, study, says: str):
    with pytest.raises(TuneCiError, match=says):
        tune_plan(shared_repo, model, workers, study)


def test_features_plan_pairs_environments_with_feature_datasets_and_their_runners(shared_repo: Repo):
    repo = shared_repo
    every = json.loads(features_plan(repo)["matrix"])["include"]
    datasets = {n for n in repo.dataset_names() if repo.dataset(n).features is not None}
    assert {(i["environment"], i["dataset"]) for i in every} == {
        (e, d) for e in repo.platform.promotion_order for d in datasets
    }
    dev = json.loads(features_plan(repo, "dev")["matrix"])["include"]
    assert {i["environment"] for i in dev} == {"dev"}
    assert all(json.loads(i["runner"]) == repo.platform.environments["dev"].runner for i in dev)
    with pytest.raises(FeaturesPlanError, match="expected one of the promotion order"):
        features_plan(repo, "local")


def test_check_commands_accepts_a_typed_option_fed_by_a_variable_but_not_an_unknown_option(tmp_path: Path):
    good = tmp_path / "good.yml"
    good.write_text(
        'jobs:\n  a:\n    steps:\n      - run: .venv/bin/aip ci tune-plan m --workers "$WORKERS"\n',
        encoding="utf-8",
    )
    assert check_commands([good], REPO_ROOT, usage_problem) == []
    bad = tmp_path / "bad.yml"
    bad.write_text(
        'jobs:\n  a:\n    steps:\n      - run: .venv/bin/aip ci tune-plan m --wrokers "$WORKERS"\n',
        encoding="utf-8",
    )
    assert any(
        "unrecognized arguments: --wrokers" in p for p in check_commands([bad], REPO_ROOT, usage_problem)
    )


# -- the tuning pull request -------------------------------------------------------------------------
def recorded_github() -> RecordedGitHub:
    gh = RecordedGitHub(token="t0ken")
    gh.route(
        "GET", rf"/repos/{SLUG}/git/ref/heads/main", {"ref": "refs/heads/main", "object": {"sha": "a" * 40}}
    )
    gh.route(
        "POST",
        rf"/repos/{SLUG}/git/refs",
        lambda req: (201, {"ref": req.body["ref"], "object": {"sha": "a" * 40}}),
    )
    gh.route(
        "PUT", rf"/repos/{SLUG}/contents/.+", lambda req: (201, {"content": {}, "commit": {"sha": "b" * 40}})
    )
    gh.route("GET", rf"/repos/{SLUG}/pulls", [])
    gh.route(
        "POST", rf"/repos/{SLUG}/pulls", {"number": 21, "html_url": f"https://github.com/{SLUG}/pull/21"}, 201
    )
    gh.route("POST", rf"/repos/{SLUG}/issues/21/labels", [{"name": TUNING_LABEL}])
    return gh


def test_an_unchanged_model_yaml_opens_nothing(shared_repo: Repo):
    with recorded_github() as gh:
        result = tune_proposal(shared_repo, MODEL, "s-1", GitHub(SLUG, "t0ken", api_url=gh.url))
        assert result is None
        assert gh.requests == []


def test_the_written_model_yaml_is_committed_on_its_branch_and_proposed(aip_repo: Path, tmp_path: Path):
    path = aip_repo / "models" / MODEL / "model.yaml"
    text = path.read_text(encoding="utf-8")
    assert "\n" in text
    path.write_text(text + "# tuned: learning_rate 0.003\n", encoding="utf-8")
    summary = tmp_path / "tune.json"
    summary.write_text(json.dumps({"best_value": 0.97, "n_trials": 12}), encoding="utf-8")
    with recorded_github() as gh:
        proposal = tune_proposal(
            Repo.discover(), MODEL, "s-1", GitHub(SLUG, "t0ken", api_url=gh.url), summary=summary
        )
        sent = [(r.method, r.path) for r in gh.requests]
        put = next(r for r in gh.requests if r.method == "PUT")
        opened = next(r for r in gh.requests if r.method == "POST" and r.path.endswith("/pulls"))
    assert proposal is not None and proposal.opened and proposal.number == 21
    branch = f"tune/{MODEL}-s-1"
    assert (branch, "main") == (opened.body["head"], opened.body["base"])
    assert ("POST", f"/repos/{SLUG}/git/refs") in sent and put.path.endswith(f"models/{MODEL}/model.yaml")
    assert base64.b64decode(put.body["content"]).decode() == path.read_text(encoding="utf-8")
    assert put.body["branch"] == branch
    assert "+# tuned: learning_rate 0.003" in opened.body["body"]  # the diff
    assert "| best_value | `0.97` |" in opened.body["body"]  # the study summary
    assert git(aip_repo, "status", "--porcelain").strip() == f"M models/{MODEL}/model.yaml"  # nothing else


def test_without_a_token_the_proposal_is_returned_unopened(aip_repo: Path):
    path = aip_repo / "models" / MODEL / "model.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "# tuned\n", encoding="utf-8")
    proposal = tune_proposal(Repo.discover(), MODEL, "s-2", None)
    assert proposal is not None and not proposal.opened
    assert "not opened" in proposal.describe() and proposal.branch == f"tune/{MODEL}-s-2"
