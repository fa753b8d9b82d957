"""The serving image under the server contract (docs/serving.md, "The server contract"): each rendered
model-server Deployment's exact args and env, as `aip deploy`'s KubernetesBackend leaves them (the
canary and baseline with MODEL_VERSION pinned), run with podman on a read-only root as uid 10001.

The registry is a real `mlflow server` on 127.0.0.1 with `--serve-artifacts` holding the trained
tumour model (v1 with alias `dev`, v2 the same weights), so the container reads everything over
HTTP and needs no host path. Only three things differ from the pods: AIP_TRACKING_URI (dev's
registry is a remote MLflow) and the ports (free ones, bound on 127.0.0.1 with host networking); dev's
Deployments already set AIP_DEVICE=cpu (dev serves on CPU), so that is as in the pods too.

    .venv/bin/python -m pytest tests/containers/test_server_contract.py -q   # builds the image if needed
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.containers.conftest import ROOT, podman
from tests.support.manifests import track_command, with_ports
from tests.support.ports import free_port
from tests.support.registry import TrainedRegistry, registered_artifact
from tests.support.server import stop, wait_until_ready

pytestmark = [
    pytest.mark.slow,
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]

MODEL = "tumor-classifier"
OVERLAY = "dev"
START_TIMEOUT_S = 300.0
EXPECTED = {"stable": "1", "canary": "2", "baseline": "1"}  # version each track must serve


@pytest.fixture(scope="module")
def registry(trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MLflow tracking server (artifacts proxied) with tumor-classifier v1 @dev and v2."""
    import mlflow
    from mlflow.tracking import MlflowClient

    work = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = (work / "mlflow.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
         "--artifacts-destination", str(work / "artifacts"), "--serve-artifacts", "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, text=True, cwd=work,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    previous = mlflow.get_tracking_uri()
    try:
        wait_until_ready(f"{url}/health", server, 120, log=lambda: (work / "mlflow.log").read_text()[-3000:])
        # The logged model folder (MLmodel + artifacts/aip_model) that `aip run` registered.
        logged = registered_artifact(trained_registry.checked_root(), MODEL).parents[1]
        mlflow.set_tracking_uri(url)
        client = MlflowClient(tracking_uri=url, registry_uri=url)
        experiment = client.create_experiment("server-contract")
        client.create_registered_model(MODEL)
        for _ in (1, 2):
            with mlflow.start_run(experiment_id=experiment) as run:
                mlflow.log_artifacts(str(logged), "model")
            client.create_model_version(MODEL, f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
        client.set_registered_model_alias(MODEL, OVERLAY, "1")
        yield url
    finally:
        mlflow.set_tracking_uri(previous)
        stop(server)
        log.close()


def rendered_track(folder: Path, track: str) -> tuple[list[str], dict[str, str]]:
    """(args, env) of model-server-<track> in the rendered overlay, after the KubernetesBackend pinned
    what a deploy pins: canary v2, and the baseline at the stable's version (stable pinned to v1)."""
    from pipelines.deploy.backends import VERSION_ENV, KubernetesBackend, OfflineKubectl

    cluster = OfflineKubectl.from_kustomize(ROOT / "infra" / "k8s" / "overlays" / OVERLAY, folder)
    backend = KubernetesBackend(cluster)
    if track == "canary":
        backend.load_canary(MODEL, EXPECTED["canary"])
    elif track == "baseline":
        container = {"name": "model-server", "env": [{"name": VERSION_ENV, "value": EXPECTED["stable"]}]}
        spec = {"spec": {"template": {"spec": {"containers": [container]}}}}
        cluster.patch("Deployment", "model-server-stable", "strategic", spec)  # what a promotion left
        backend.load_baseline(MODEL)
    return track_command(cluster, track)


def get(url: str) -> tuple[dict[str, str], str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return {k.lower(): v for k, v in response.headers.items()}, response.read().decode()


def predict(url: str, rows: list[dict[str, float]]) -> dict[str, str]:
    request = urllib.request.Request(
        f"{url}/v1/models/{MODEL}:predict",
        data=json.dumps({"instances": rows}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return {k.lower(): v for k, v in response.headers.items()}


def wait_ready(url: str, name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        state = podman("inspect", "--format", "{{.State.Status}}", name, check=False).stdout.strip()
        if state in ("exited", "stopped", ""):
            raise AssertionError(
                f"{name} {state or 'gone'}:\n{podman('logs', name, check=False).stdout[-4000:]}"
            )
        try:
            if get(f"{url}/readyz")[0] is not None:
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise AssertionError(
        f"{name} not ready in {START_TIMEOUT_S} s:\n{podman('logs', name, check=False).stdout[-4000:]}"
    )


@pytest.fixture(scope="session")
def tumor_rows() -> list[dict[str, float]]:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return [dict(zip(data.feature_names, map(float, row), strict=True)) for row in data.data[:8]]


@pytest.mark.parametrize("track", ["stable", "canary", "baseline"])
def test_the_image_serves_each_tracks_version_under_its_label_from_the_rendered_deployment(
    serving_image: str, registry: str, track: str, tmp_path: Path, tumor_rows: list[dict[str, float]]
) -> None:
    import grpc
    import numpy as np
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    args, env = rendered_track(tmp_path / "rendered", track)
    assert env.get("MODEL_LABEL") == track and env.get("MODEL_NAME") == MODEL
    assert ("MODEL_VERSION" in env) == (track != "stable")
    env["AIP_TRACKING_URI"] = registry
    rest, grpc_port = free_port(), free_port()
    name = f"aip-contract-{track}-{uuid.uuid4().hex[:8]}"
    env_flags = [x for key, value in sorted(env.items()) for x in ("-e", f"{key}={value}")]
    podman(
        "run", "-d", "--name", name, "--network", "host", "--read-only", "--tmpfs", "/tmp",
        "--user", "10001", *env_flags, serving_image, *with_ports(args, rest, grpc_port),
    )  # fmt: skip
    url = f"http://127.0.0.1:{rest}"
    try:
        wait_ready(url, name)
        version = EXPECTED[track]
        _, status = get(f"{url}/v1/models/{MODEL}")
        assert [(s["version"], s["state"]) for s in json.loads(status)["model_version_status"]] == [
            (version, "AVAILABLE")
        ]
        headers = predict(url, tumor_rows[:2])
        assert (headers["x-model-version"], headers["x-model-label"]) == (version, track)
        _, metrics = get(f"{url}/metrics")
        requests = [line for line in metrics.splitlines() if line.startswith("aip_serving_requests_total{")]
        assert requests and all(f'label="{track}"' in s and f'version="{version}"' in s for s in requests)

        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", MODEL):
                answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
                assert answer.status == health_pb2.HealthCheckResponse.SERVING, service
            from tensorflow.core.framework import tensor_pb2, types_pb2
            from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

            request = predict_pb2.PredictRequest()
            request.model_spec.name = MODEL
            for feature in tumor_rows[0]:
                tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT)
                tensor.tensor_shape.dim.add().size = 2
                tensor.tensor_content = np.array([r[feature] for r in tumor_rows[:2]], np.float32).tobytes()
                request.inputs[feature].CopyFrom(tensor)
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            response, call = stub.Predict.with_call(request, timeout=60)
            assert response.model_spec.version.value == int(version)
            assert dict(call.trailing_metadata())["x-model-label"] == track
        logs = podman("logs", name, check=False)
        assert f"as {track}" in logs.stdout + logs.stderr  # the start-up line names the track
    finally:
        out: Any = podman("logs", name, check=False)
        print((out.stdout + out.stderr)[-3000:], file=sys.stderr)
        podman("rm", "-f", "-t", "5", name, check=False)
