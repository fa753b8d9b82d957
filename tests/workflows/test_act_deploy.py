"""deploy.yml (and the promote.yml it calls) run for real by nektos/act: pushes to env/dev and env/staging.

The platform is real on 127.0.0.1: a moto S3 server (the DVC remote s3://aip-data/dvc and the MLflow
artifact store s3://aip-mlflow/mlflow), a real `mlflow server` (SQLite backend, artifacts proxied to
S3) as the one registry dev, staging and prod share, and the embedded serving backend (each
environment's `kubernetes_namespace` removed: `aip deploy` canaries against `aip serve` on a free
port). The scratch repository is this working tree (tests/support/act.py) with the text model removed
(the plan lists every model; the tabular one trains in seconds) and a short canary for dev and staging.
Jobs run as processes on this machine (`-P <runner>=-self-hosted` for ubuntu-24.04 and each
environment's ARC scale-set name); `uses:` steps run the test doubles in tests/workflows/actions/
(configure-aws-credentials exports the moto credentials; artifacts are copied through a folder).

Scenarios (each asserts which jobs ran: act skips a job whose runs-on is not mapped with exit 0):
1. env/dev at commit A with an empty registry: trains A's fingerprint (v1), registers, deploys (first
   version: promoted directly), `verify` finds it deployed, promote.yml runs.
2. a newer version (v2, another config, registered from another commit) exists; env/dev at A again:
   nothing trained, the alias stays on A's v1 (the commit's version, not the newest), verdict up_to_date.
3. main moves to B (v2's config) and is promoted to env/dev: v2 deployed (registered, not retrained;
   canary); then B is reverted on main and promoted: dev rolls back to v1 without training.
4. env/staging at the dev-deployed commit: train=false, the registered v1 is deployed, no training step
   runs, the promote job runs only after `aip ci deployed` said so; a fork without AIP_GPU_RUNNERS gets
   a notice and no deploy and no promotion.

What act does not emulate, and what covers it instead:
- `on.push.branches` filters (act runs the workflow for any ref): the triggers are read by
  tests/workflows/test_workflow_rules.py (repository workflows, house rules) and actionlint.
- `concurrency` (one deploy per environment, never cancelled): `aip guard workflows` rule AIP009
  (tests/workflows/test_workflow_rules.py), plus the engine's own deploy lock and registry lease.
- GitHub environment protection (required reviewers = platform.yaml requires_approval) and
  per-environment secrets/variables: act passes `--var`/`--secret` to every job; nothing here checks
  that prod's reviewers exist (that is repository configuration, docs/gitops.md).
- `permissions:` and OIDC (`id-token: write`): zizmor and AIP002 (test_workflow_rules.py); the OIDC
  role is replaced by the configure-aws-credentials double.
- The environment-branch guard on pull requests is tests/workflows/test_guard.py; `aip guard branch`
  itself runs in the plan job here.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.act import ActRun, act_repo, promote, push, push_event, run_act
from tests.support.cli import run_aip
from tests.support.git import git
from tests.support.mlflow_server import mlflow_server
from tests.support.ports import free_port
from tests.support.registry import SHORT_ROLLOUT, TEXT, TUMOR
from tests.support.repo import edit_yaml
from tests.support.s3 import S3Server, s3_server

pytestmark = [pytest.mark.slow, pytest.mark.integration]

DATA_BUCKET, MLFLOW_BUCKET = "aip-data", "aip-mlflow"
ENVS = ("dev", "staging", "prod")
FINGERPRINT_TAG = "aip.fingerprint"


@dataclass
class Platform:
    repo: Path
    scratch: Path
    s3: S3Server
    tracking_uri: str
    runners: list[str]
    timings: dict[str, float] = field(default_factory=dict)

    def variables(self, **overrides: str) -> dict[str, str]:
        values = {
            "AIP_GPU_RUNNERS": "true",
            "AWS_ROLE_ARN": "arn:aws:iam::000000000000:role/aip-deploy-test",
            "AWS_REGION": "us-east-1",
            "AIP_TRACKING_URI": self.tracking_uri,
            **overrides,
        }
        return {k: v for k, v in values.items() if v}

    def deploy(self, branch: str, label: str, **variables: str) -> ActRun:
        run = run_act(
            self.repo,
            "deploy.yml",
            "push",
            push_event(self.repo, branch),
            scratch=self.scratch / label,
            runners=self.runners,
            variables=self.variables(**variables),
            secrets={
                "MLFLOW_TRACKING_USERNAME": "aip-deploy-dev",
                "MLFLOW_TRACKING_PASSWORD": "test-password",
                "AIP_ADMIN_TOKEN": "test-admin-token",
            },
            env={"AIP_TEST_S3_ENDPOINT": self.s3.endpoint},
        )
        self.timings[label] = run.seconds
        return run

    def client(self) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def alias(self, env: str) -> tuple[str, str]:
        """(version, fingerprint) at `env`'s alias."""
        version = self.client().get_model_version_by_alias(TUMOR, env)
        return str(version.version), str(version.tags.get(FINGERPRINT_TAG, ""))

    def versions(self) -> dict[str, str]:
        """version → fingerprint of every registered tumour model version."""
        found = self.client().search_model_versions(f"name='{TUMOR}'")
        return {str(v.version): str(v.tags.get(FINGERPRINT_TAG, "")) for v in found}


def _nothing_trained(run: ActRun, version: str) -> None:
    """The train step found the commit's fingerprint registered and trained nothing (dev trains, so
    the step runs; `aip evaluate` still logs an evaluation run against the champion)."""
    log = run.output("deploy")
    assert f"is registered as v{version}; nothing to train" in log, log[-4000:]
    assert "trained fingerprint" not in log, log[-4000:]


def _platform_yaml(tracking_uri: str) -> Any:
    def change(data: Any) -> None:
        for env in ENVS:
            settings = data["environments"][env]
            settings["tracking_uri"] = tracking_uri
            settings["artifact_store"] = f"s3://{MLFLOW_BUCKET}/mlflow"
            settings["dvc_remote"] = f"s3://{DATA_BUCKET}/dvc"
            settings["serving_endpoint"] = f"http://127.0.0.1:{free_port()}"
            settings.pop("kubernetes_namespace", None)  # the embedded backend: `aip serve` here

    return change


def _short_canary(data: Any) -> None:
    for env in ("dev", "staging"):
        data["environments"][env] = {"rollout": SHORT_ROLLOUT}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    base = tmp_path_factory.mktemp("act-deploy")
    with (
        s3_server(base / "moto.log", DATA_BUCKET, MLFLOW_BUCKET) as s3,
        mlflow_server(base / "mlflow", s3, MLFLOW_BUCKET) as url,
    ):
        repo = act_repo(base / "repo")
        shutil.rmtree(repo / "models" / TEXT)
        # The prompt's deploy job (deploy-prompts) needs dev's vLLM and Milvus; tests/prompts covers
        # `aip run PROMPT` on the embedded default, so the deploy scenarios run without prompts.
        shutil.rmtree(repo / "prompts" / "platform-assistant")
        edit_yaml(repo / "platform.yaml", _platform_yaml(url))
        edit_yaml(repo / "models" / TUMOR / "model.yaml", _short_canary)
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "test platform: moto S3, local MLflow server, embedded serving")
        for branch in ("env/dev", "env/staging", "env/prod"):
            git(repo, "branch", "-f", branch, "main")
        push(repo, "main", "env/dev", "env/staging", "env/prod")
        from pipelines.repo.layout import Repo

        settings = Repo(repo).platform.environments
        runners = ["ubuntu-24.04", *(settings[e].runner for e in ENVS if settings[e].runner)]
        platform = Platform(repo, base / "runs", s3, url, runners)
        yield platform
        print("act wall time per scenario (s):", {k: round(v) for k, v in platform.timings.items()})


def _assert_ran(run: ActRun, *jobs: str) -> None:
    for job in jobs:
        assert run.ran(job), f"job {job} did not run: {run.results}\n{run.tail()}"
        assert set(run.results[job]) == {"success"}, f"job {job}: {run.results[job]}\n{run.tail()}"


def _register_from(platform: Platform, commit: str, dest: Path) -> str:
    """Train, evaluate and register (no alias) the tumour model of `commit` in dev's registry, outside
    any workflow (another branch's experiment); returns the new version."""
    git(platform.repo.parent, "clone", "-q", str(platform.repo), str(dest))
    git(dest, "checkout", "-q", commit)
    env = {**platform.s3.env, "AIP_TRACKING_URI": platform.tracking_uri, "PYTHONPATH": str(dest)}
    for args in (
        ("data", "prepare", "breast-cancer", "--env", "dev"),
        ("train", TUMOR, "--env", "dev"),
        ("evaluate", TUMOR, "--env", "dev"),
        ("register", TUMOR, "--env", "dev", "--no-alias"),
    ):
        result = run_aip(dest, *args, env=env)
        assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-3000:])
    return max(platform.versions(), key=int)


@pytest.fixture(scope="module")
def first_dev(platform: Platform) -> tuple[ActRun, str, str]:
    """Scenario 1: env/dev at main (A) with an empty registry."""
    commit_a = promote(platform.repo, "env/dev", "main")
    run = platform.deploy("env/dev", "1-dev-first")
    return run, commit_a, git(platform.repo, "rev-parse", "main")


def test_first_push_to_dev_trains_registers_deploys_and_promotes(platform: Platform, first_dev):
    run, _, _ = first_dev
    _assert_ran(run, "plan", "deploy", "verify", "promote")
    assert run.returncode == 0, run.tail()
    [(version, fingerprint)] = platform.versions().items()
    assert platform.alias("dev") == (version, fingerprint)
    assert "promoted directly" in run.output("deploy").lower() or "PROMOTED" in run.output("deploy")
    assert "deployed=true" in run.output("verify")


@pytest.fixture(scope="module")
def newer_registered(platform: Platform, first_dev, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A newer version of the model (another config, from a side commit), registered, never deployed."""
    git(platform.repo, "checkout", "-q", "-B", "experiment", "main")
    card = platform.repo / "models" / TUMOR / "model.yaml"
    card.write_text(card.read_text().replace("weight_decay: 1.0e-4", "weight_decay: 2.0e-4", 1))
    git(platform.repo, "commit", "-qam", "tumor: more weight decay")
    commit_b = git(platform.repo, "rev-parse", "HEAD")
    git(platform.repo, "checkout", "-q", "main")
    version = _register_from(platform, commit_b, tmp_path_factory.mktemp("side") / "clone")
    return version


def test_second_push_is_a_noop_even_with_a_newer_version_registered(
    platform: Platform, first_dev, newer_registered: str
):
    """Scenario 2 (and 1's "deploys the commit's version, not the newest")."""
    before_alias, before_versions = platform.alias("dev"), platform.versions()
    assert int(newer_registered) > int(before_alias[0])
    promote(platform.repo, "env/dev", "main")
    run = platform.deploy("env/dev", "2-dev-again")
    _assert_ran(run, "plan", "deploy", "verify", "promote")
    assert platform.alias("dev") == before_alias, "the alias moved to the newest version"
    assert platform.versions() == before_versions, "something was registered again"
    _nothing_trained(run, before_alias[0])
    assert "already @dev: nothing to deploy" in run.output("deploy")
    assert '"verdict": "up_to_date"' in run.output("deploy")


def test_promoting_a_config_change_then_its_revert_rolls_dev_back_without_training(
    platform: Platform, first_dev, newer_registered: str
):
    """Scenario 3: B (the newer version's config) reaches dev, then main reverts it: dev rolls back."""
    v_a, fp_a = platform.alias("dev")
    git(platform.repo, "checkout", "-q", "main")
    git(platform.repo, "merge", "-q", "--ff-only", "experiment")
    push(platform.repo, "main")
    promote(platform.repo, "env/dev", "main")
    versions_before = platform.versions()
    run_b = platform.deploy("env/dev", "3a-dev-config-change")
    _assert_ran(run_b, "plan", "deploy", "verify", "promote")
    assert f"at HEAD is v{newer_registered}" in run_b.output("deploy")
    assert platform.alias("dev")[0] == newer_registered
    _nothing_trained(run_b, newer_registered)

    git(platform.repo, "checkout", "-q", "main")
    git(platform.repo, "revert", "--no-edit", "HEAD")
    push(platform.repo, "main")
    promote(platform.repo, "env/dev", "main")
    run_revert = platform.deploy("env/dev", "3b-dev-revert")
    _assert_ran(run_revert, "plan", "deploy", "verify", "promote")
    assert f"at HEAD is v{v_a}" in run_revert.output("deploy")
    assert platform.alias("dev") == (v_a, fp_a), "the revert did not roll dev back to A's version"
    _nothing_trained(run_revert, v_a)
    assert platform.versions() == versions_before, "the rollback registered a new version"
    git(platform.repo, "checkout", "-q", "main")


def test_staging_deploys_the_registered_version_without_training_then_promotes(
    platform: Platform, first_dev, newer_registered: str
):
    """Scenario 4: the dev-deployed commit reaches env/staging (train=false)."""
    dev_version = platform.alias("dev")
    versions_before = platform.versions()
    promote(platform.repo, "env/staging", "env/dev")
    run = platform.deploy("env/staging", "4-staging")
    _assert_ran(run, "plan", "deploy", "verify", "promote")
    assert "train=false" in run.output("plan")
    deploy_log = run.output("deploy")
    assert "aip train" not in deploy_log and "aip evaluate" not in deploy_log
    assert platform.alias("staging") == dev_version
    assert platform.versions() == versions_before


def test_staging_refuses_an_unregistered_fingerprint_and_nothing_is_promoted(
    platform: Platform, first_dev, newer_registered: str
):
    """A commit whose fingerprint dev never registered reaches env/staging (train=false): the deploy job
    fails without changing staging, and neither `verify` nor the promotion runs (a failed or skipped
    deploy is never "success")."""
    before, versions_before = platform.alias("staging"), platform.versions()
    git(platform.repo, "checkout", "-q", "-B", "untrained", "main")
    card = platform.repo / "models" / TUMOR / "model.yaml"
    card.write_text(card.read_text().replace("weight_decay: 1.0e-4", "weight_decay: 3.0e-4", 1))
    git(platform.repo, "commit", "-qam", "tumor: a config dev never trained")
    git(platform.repo, "checkout", "-q", "main")
    git(platform.repo, "merge", "-q", "--ff-only", "untrained")
    push(platform.repo, "main")
    promote(platform.repo, "env/staging", "main")
    run = platform.deploy("env/staging", "4b-staging-unregistered")
    _assert_ran(run, "plan")
    assert run.results.get("deploy") == ["failure"], (run.results, run.tail())
    assert not run.ran("verify") and not run.ran("promote"), run.results
    assert "the environment was not changed" in run.output("deploy")
    assert platform.alias("staging") == before
    assert platform.versions() == versions_before
    git(platform.repo, "reset", "-q", "--hard", "HEAD~1")  # main without the untrained config
    push(platform.repo, "main")


def test_a_fork_without_gpu_runners_gets_a_notice_and_neither_deploy_nor_promotion(
    platform: Platform, first_dev
):
    before = platform.alias("dev")
    promote(platform.repo, "env/dev", "main")
    run = platform.deploy("env/dev", "5-unconfigured-fork", AIP_GPU_RUNNERS="")
    _assert_ran(run, "plan")
    assert run.returncode == 0, run.tail()
    for job in ("deploy", "verify", "promote"):
        assert not run.ran(job), (job, run.results)
    assert "has not configured AIP_GPU_RUNNERS" in run.output("plan")
    assert platform.alias("dev") == before


def test_drift_prepares_the_reference_then_reads_the_sample_sink(platform: Platform, first_dev, tmp_path):
    """drift.yml (dispatch, dev): the splits come from the S3 DVC remote before `aip drift` runs, and the
    samples from AIP_SAMPLE_SINK. The sink is empty here, so the verdict is "insufficient data" (exit 4,
    the job fails on purpose) instead of the old "splits/train.csv does not exist"."""
    sink = tmp_path / "samples"
    sink.mkdir()
    git(platform.repo, "checkout", "-q", "main")
    run = run_act(
        platform.repo,
        "drift.yml",
        "workflow_dispatch",
        {"inputs": {"environment": "dev"}},
        scratch=platform.scratch / "6-drift",
        runners=platform.runners,
        variables=platform.variables(AIP_SAMPLE_SINK=str(sink)),
        secrets={"MLFLOW_READONLY_USERNAME": "reader", "MLFLOW_READONLY_PASSWORD": "read-only"},
        env={"AIP_TEST_S3_ENDPOINT": platform.s3.endpoint},
    )
    platform.timings["6-drift"] = run.seconds
    assert run.results.get("plan") == ["success"], run.tail()
    assert run.results.get("drift") == ["failure"], (run.results, run.tail())
    log = run.output("drift")
    assert 'Success - Main .venv/bin/aip data prepare "$DATASET" --env "$AIP_ENV"' in log, log[-4000:]
    assert "insufficient data: 0 sample(s)" in log, log[-4000:]
    assert "does not exist" not in log
