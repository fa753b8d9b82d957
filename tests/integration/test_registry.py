"""The registry against real MLflow: SQLite (the embedded default) and an MLflow server."""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.registry.store import FINGERPRINT_TAG, MODEL_URI_TAG, STEP_TAG, Registry
from pipelines.registry.tracking import TrackingUnavailable, check_reachable, connect, experiment_id
from pipelines.repo.layout import Repo
from tests.support.cli import run_aip
from tests.support.ports import free_port
from tests.support.server import stop, wait_until_ready

pytestmark = pytest.mark.integration

WRAPPER = """\
import mlflow
from mlflow.pyfunc import PythonModel


class Echo(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


mlflow.models.set_model(Echo())
"""


def log_run(client, exp: str, fingerprint: str, tmp_path: Path, *, finish: bool = True) -> tuple[str, str]:
    """A training run of the kind `aip train` writes: tagged, with a logged model."""
    import mlflow

    wrapper = tmp_path / "echo_model.py"
    wrapper.write_text(WRAPPER)
    warnings.filterwarnings(
        "ignore", message=".*Add type hints to the `predict` method", category=UserWarning
    )
    run = mlflow.start_run(experiment_id=exp, tags={FINGERPRINT_TAG: fingerprint, STEP_TAG: "train"})
    info = mlflow.pyfunc.log_model(name="model", python_model=str(wrapper), pip_requirements=["mlflow"])
    mlflow.set_tag(MODEL_URI_TAG, info.model_uri)
    if finish:
        mlflow.end_run()
    else:  # a process killed here leaves the run RUNNING
        mlflow.end_run(status="RUNNING")
    return run.info.run_id, info.model_uri


@pytest.fixture
def registry(aip_repo: Path) -> Registry:
    return Registry(connect(Repo(aip_repo), "local"))


def test_the_same_fingerprint_is_registered_once(registry, aip_repo, tmp_path):
    exp = experiment_id(registry.client, Repo(aip_repo), "tumor-classifier")
    run_id, uri = log_run(registry.client, exp, "f" * 64, tmp_path)
    first = registry.register("tumor-classifier", uri, run_id, {FINGERPRINT_TAG: "f" * 64})
    again = registry.register("tumor-classifier", uri, run_id, {FINGERPRINT_TAG: "f" * 64})
    assert str(first.version) == str(again.version) == "1"
    assert len(registry.client.search_model_versions("name = 'tumor-classifier'")) == 1
    assert str(registry.version_for("tumor-classifier", "f" * 64).version) == "1"
    assert registry.version_for("tumor-classifier", "e" * 64) is None


def test_alias_moves_atomically_and_remembers_the_previous_version(registry, aip_repo, tmp_path):
    exp = experiment_id(registry.client, Repo(aip_repo), "tumor-classifier")
    versions = []
    for fp in ("a" * 64, "b" * 64):
        run_id, uri = log_run(registry.client, exp, fp, tmp_path)
        versions.append(
            str(registry.register("tumor-classifier", uri, run_id, {FINGERPRINT_TAG: fp}).version)
        )
    assert registry.set_alias("tumor-classifier", "dev", versions[0]) is None
    assert registry.set_alias("tumor-classifier", "dev", versions[1]) == versions[0]
    assert str(registry.alias_version("tumor-classifier", "dev").version) == versions[1]
    tags = registry.client.get_model_version("tumor-classifier", versions[1]).tags
    assert tags["aip.previous.dev"] == versions[0]
    # Re-running the same move changes nothing.
    assert registry.set_alias("tumor-classifier", "dev", versions[1]) == versions[1]


def test_a_killed_training_run_is_not_reused(registry, aip_repo, tmp_path):
    exp = experiment_id(registry.client, Repo(aip_repo), "tumor-classifier")
    log_run(registry.client, exp, "c" * 64, tmp_path, finish=False)
    assert registry.finished_training_run(exp, "c" * 64) is None
    run_id, _ = log_run(registry.client, exp, "c" * 64, tmp_path)
    assert registry.finished_training_run(exp, "c" * 64).info.run_id == run_id


def test_a_tracking_server_that_is_down_fails_within_seconds_naming_the_uri(repo_copy):
    uri = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    result = run_aip(repo_copy, "train", "tumor-classifier", env={"AIP_TRACKING_URI": uri}, timeout=60)
    elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert f"MLflow tracking server {uri} is unreachable" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 15


def test_an_unroutable_tracking_server_times_out_instead_of_hanging():
    start = time.monotonic()
    with pytest.raises(TrackingUnavailable, match=r"http://10\.255\.255\.1:5000"):
        check_reachable("http://10.255.255.1:5000", timeout=1.0)
    assert time.monotonic() - start < 5


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """A real MLflow tracking server on 127.0.0.1 over SQLite, as production runs it over Postgres."""
    port = free_port()
    log = tmp_path / "mlflow-server.log"
    handle = log.open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            (tmp_path / "server-artifacts").as_uri(),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=handle,
        text=True,
        env={
            **__import__("os").environ,
            "PATH": f"{Path(sys.executable).parent}:{__import__('os').environ['PATH']}",
        },
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{uri}/health", proc, 90, log=lambda: log.read_text()[-3000:], interval_s=0.5)
        yield uri
    finally:
        stop(proc, timeout_s=20)
        handle.close()


@pytest.mark.slow
def test_registry_works_through_a_tracking_server(mlflow_server, aip_repo, tmp_path, monkeypatch):
    monkeypatch.setenv("AIP_TRACKING_URI", mlflow_server)
    registry = Registry(connect(Repo(aip_repo), "dev"))
    exp = experiment_id(registry.client, Repo(aip_repo), "tumor-classifier", "dev")
    run_id, uri = log_run(registry.client, exp, "d" * 64, tmp_path)
    version = str(registry.register("tumor-classifier", uri, run_id, {FINGERPRINT_TAG: "d" * 64}).version)
    again = registry.register("tumor-classifier", uri, run_id, {FINGERPRINT_TAG: "d" * 64})
    assert str(again.version) == version
    assert len(registry.client.search_model_versions("name = 'tumor-classifier'")) == 1
    registry.set_alias("tumor-classifier", "dev", version)
    assert str(registry.alias_version("tumor-classifier", "dev").version) == version


def test_ui_links_open_each_models_runs_in_the_model_training_view(registry, aip_repo):
    from pipelines.registry.tracking import ui_links

    exp = experiment_id(registry.client, Repo(aip_repo), "tumor-classifier")
    # created with the kind MLflow 3's UI reads, so the experiment opens on its training runs
    kind = registry.client.get_experiment(exp).tags["mlflow.experimentKind"]
    assert kind == "custom_model_development"
    older = registry.client.create_experiment("aip/older-model")  # made before the tag existed
    lines = ui_links(registry.client, "http://127.0.0.1:5000/")
    assert (
        f"  runs of tumor-classifier: http://127.0.0.1:5000/#/experiments/{exp}/runs?workflowType=machine_learning"
        in lines
    )
    assert "  model registry: http://127.0.0.1:5000/#/models?workflowType=machine_learning" in lines
    assert registry.client.get_experiment(older).tags["mlflow.experimentKind"] == "custom_model_development"
    assert any('"Model training"' in line for line in lines)
