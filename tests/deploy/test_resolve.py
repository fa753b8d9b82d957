"""What `aip deploy` deploys without --version: the version registered for the commit's fingerprint.

Fast: a repo copy whose registry (SQLite, through AIP_TRACKING_URI so dev, staging and prod share it
as they share one MLflow server) holds placeholder versions tagged with the fingerprints of commits;
nothing is trained or served, and `aip` runs in-process (a subprocess spends seconds importing MLflow).
`--dry-run` shows what a deploy would do; the alias is moved by hand where a real canary would have
moved it (test_resolve_revert.py runs the real canaries).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.cli.main import main
from tests.support.git import git
from tests.support.registry import mlflow_client
from tests.support.repo import copy_state, edit_yaml, make_repo_copy

MODEL = "tumor-classifier"


def fingerprint(root: Path) -> str:
    """The model's fingerprint in the work tree of `root` (what `aip deploy` resolves at HEAD)."""
    from pipelines.data import data_version
    from pipelines.registry.fingerprint import compute
    from pipelines.repo.layout import Repo

    repo = Repo(root)
    return compute(repo, MODEL, data_version(repo, repo.model(MODEL).dataset)).digest


def register(root: Path, digest: str) -> str:
    """A placeholder version of MODEL tagged with `digest`; its number."""
    from mlflow.exceptions import MlflowException

    client = mlflow_client(root)
    with contextlib.suppress(MlflowException):  # registered already
        client.create_registered_model(MODEL)
    source = root / ".aip" / "placeholder"
    source.mkdir(parents=True, exist_ok=True)
    version = client.create_model_version(MODEL, source=str(source), tags={"aip.fingerprint": digest})
    return str(version.version)


def alias(root: Path, env: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(mlflow_client(root).get_model_version_by_alias(MODEL, env).version)
    except MlflowException:
        return None


def set_seed(root: Path, seed: int, message: str) -> str:
    """Commit model.yaml with another training seed (another fingerprint); the new HEAD."""
    edit_yaml(root / "models" / MODEL / "model.yaml", lambda d: d["training"].update({"seed": seed}))
    git(root, "commit", "-qam", message)
    return git(root, "rev-parse", "HEAD")


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


_capsys: pytest.CaptureFixture[str] | None = None


def aip(*args: str) -> Result:
    """`aip ARGS` in-process (the `fork` fixture points it at the repo copy and its registry)."""
    assert _capsys is not None
    _capsys.readouterr()
    code = main(list(args))
    out, err = _capsys.readouterr()
    return Result(code, out, err)


def deploy(root: Path, *args: str) -> Result:
    return aip("deploy", MODEL, *args)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo copy and an empty registry, made once (MLflow's schema migrations take seconds)."""
    root = make_repo_copy(tmp_path_factory.mktemp("resolve") / "repo")
    (root / ".aip").mkdir()
    mlflow_client(root).search_registered_models()  # creates and migrates .aip/mlflow.db
    return root


@pytest.fixture
def fork(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Path]:
    """A private copy of the template that in-process `aip` uses for every environment."""
    import mlflow

    global _capsys  # noqa: PLW0603 - the helpers above read the test's capture
    root = copy_state(template, tmp_path / "repo")
    monkeypatch.setenv("AIP_REPO", str(root))
    monkeypatch.setenv("AIP_TRACKING_URI", f"sqlite:///{root / '.aip' / 'mlflow.db'}")
    monkeypatch.delenv("AIP_PROMETHEUS_URL", raising=False)
    monkeypatch.chdir(root)
    previous, _capsys = mlflow.get_tracking_uri(), capsys
    try:
        yield root
    finally:
        _capsys = None
        mlflow.set_tracking_uri(previous)
        mlflow.set_registry_uri(previous)


def test_the_commit_decides_the_version_and_a_revert_goes_back_without_retraining(fork: Path):
    fp_a = fingerprint(fork)
    v1 = register(fork, fp_a)
    # First version in dev: promoted directly (no canary, so no server: --endpoint keeps the
    # Kubernetes backend out of it).
    first = deploy(fork, "--env", "dev", "--endpoint", "http://127.0.0.1:9")
    assert first.returncode == 0, first.stderr
    assert f"fingerprint {fp_a[:12]} at HEAD is v{v1}" in first.stdout
    assert alias(fork, "dev") == v1

    commit_b = set_seed(fork, 7, "B: another seed")
    fp_b = fingerprint(fork)
    assert fp_b != fp_a
    v2 = register(fork, fp_b)
    v3 = register(fork, "f" * 64)  # registered later by someone else: newer, never deployed from here
    assert int(v3) > int(v2)
    plan = deploy(fork, "--env", "dev", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert f"at HEAD is v{v2}" in plan.stdout and f"v{v3}" not in plan.stdout + plan.stderr
    mlflow_client(fork).set_registered_model_alias(MODEL, "dev", v2)  # what the canary's promotion does

    git(fork, "revert", "--no-edit", commit_b)
    assert fingerprint(fork) == fp_a  # same files as A: same fingerprint, still registered as v1
    back = deploy(fork, "--env", "dev", "--dry-run")
    assert back.returncode == 0, back.stderr
    assert f"fingerprint {fp_a[:12]} at HEAD is v{v1}" in back.stdout
    assert f"stable v{v2}" in back.stdout + back.stderr  # a canary of v1 against v2, nothing trained
    mlflow_client(fork).set_registered_model_alias(MODEL, "dev", v1)

    report = fork / "reports" / "deploy.json"
    again = deploy(fork, "--env", "dev", "--report-json", str(report))
    assert again.returncode == 0, again.stderr
    assert f"v{v1} is already @dev: nothing to deploy" in again.stdout
    data = json.loads(report.read_text())
    assert (data["model"], data["env"], data["version"], data["verdict"], data["alias_after"]) == (
        MODEL,
        "dev",
        v1,
        "up_to_date",
        v1,
    )
    assert alias(fork, "dev") == v1


def test_an_unregistered_fingerprint_is_an_error_that_says_what_to_do(fork: Path):
    register(fork, fingerprint(fork))
    assert deploy(fork, "--env", "dev", "--endpoint", "http://127.0.0.1:9").returncode == 0
    head = set_seed(fork, 11, "C: never trained")
    fp_c = fingerprint(fork)

    result = deploy(fork, "--env", "dev", "--report-json", str(fork / "r.json"))
    assert result.returncode == 1
    assert fp_c[:12] in result.stderr and head[:12] in result.stderr
    assert f"aip run {MODEL} --env dev" in result.stderr and "not changed" in result.stderr
    assert alias(fork, "dev") == "1" and not (fork / "r.json").exists()

    staging = deploy(fork, "--env", "staging")
    assert staging.returncode == 1
    assert fp_c[:12] in staging.stderr and head[:12] in staging.stderr
    assert "does not train" in staging.stderr and "env/dev" in staging.stderr
    assert alias(fork, "staging") is None


def test_an_environment_without_train_refuses_to_train(fork: Path):
    for args in (["train", MODEL, "--env", "prod"], ["train", MODEL, "--env", "staging", "--force"]):
        result = aip(*args)
        assert result.returncode == 1, result.stdout
        assert "does not train" in result.stderr and fingerprint(fork)[:12] in result.stderr
        assert "train: false" in result.stderr and "merge this commit into env/dev" in result.stderr
    client = mlflow_client(fork)
    experiment = client.get_experiment_by_name(f"aip/{MODEL}")
    assert experiment is None or not client.search_runs([experiment.experiment_id])


def test_an_explicit_version_still_works_and_an_unknown_one_is_refused(fork: Path):
    register(fork, fingerprint(fork))
    register(fork, "e" * 64)
    result = deploy(fork, "--env", "dev", "--version", "2", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "at HEAD" not in result.stdout
    unknown = deploy(fork, "--env", "dev", "--version", "9")
    assert unknown.returncode == 1 and "no version 9" in unknown.stderr and "1, 2" in unknown.stderr


def test_resolve_version_never_takes_the_newest(fork: Path):
    from pipelines.deploy.controller import UnknownVersion, UnregisteredFingerprint, resolve_version
    from pipelines.registry.context import Context
    from pipelines.repo.layout import Repo

    register(fork, "a" * 64)
    register(fork, "b" * 64)
    ctx = Context.open(Repo(fork), "dev")
    assert resolve_version(ctx, MODEL, fingerprint="a" * 64) == "1"
    assert resolve_version(ctx, MODEL, "2") == "2"
    with pytest.raises(UnregisteredFingerprint, match="cccccccccccc"):
        resolve_version(ctx, MODEL, fingerprint="c" * 64)
    with pytest.raises(UnknownVersion, match="--version"):
        resolve_version(ctx, MODEL)


@pytest.mark.slow  # `aip run` prepares the dataset (DVC stages) before it gets to training
def test_aip_run_in_an_environment_without_train_fails_the_model_with_the_reason(fork: Path):
    edit_yaml(fork / "platform.yaml", lambda d: d["environments"]["local"].update({"train": False}))
    summary = fork / "summary.json"
    result = aip("run", MODEL, "--summary-json", str(summary))
    assert result.returncode == 1
    outcome = json.loads(summary.read_text())["models"][0]
    assert outcome["status"] == "failed: train", outcome
    assert "'local' does not train" in outcome["error"] and fingerprint(fork)[:12] in outcome["error"]
