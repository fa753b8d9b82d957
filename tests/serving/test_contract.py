"""The `aip serve` contract (pipelines/serving/contract.py, docs/serving.md "The server contract").

- unit: flags and the variables that feed them (MODEL_NAME, MODEL_VERSION, MODEL_LABEL, AIP_ENV,
  AIP_DEVICE), the errors that name them, the device, the Kubernetes backend's rollout metrics push;
- process: `aip serve` with bad input exits non-zero naming the variable; a server started with only
  the rendered model-server Deployment's args and the variables (MODEL_VERSION pinned by the real
  KubernetesBackend on the rendered canary Deployment) serves the pinned version as `canary` over
  REST and gRPC, says SERVING on grpc.health.v1 (the real HealthStub) and NOT_SERVING when it drains;
- end to end: a real Prometheus scrapes a stable and a canary server, and PrometheusSource (what
  `aip deploy` reads on Kubernetes) finds each track's requests under its label and version.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.serving.contract import ENV_VARS, resolve, resolve_device
from pipelines.serving.errors import ServeError
from tests.support.manifests import track_command, with_ports
from tests.support.ports import free_port
from tests.support.serve import MODEL
from tests.support.server import stop, wait_until_ready

REPO = Path(__file__).resolve().parents[2]
CONTRACT_VARS = [var for _flag, var in ENV_VARS.values()]
ADMIN_TOKEN = "contract-admin-token"  # not part of the contract: the admin API's own variable
CANARY_VERSION = "2"  # tests/serving/conftest.py: v1 holds the `local` alias, v2 the same weights


def clean_environ(**extra: str) -> dict[str, str]:
    """This process's environment without any contract variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT_VARS}
    return {**env, **extra}


# ---- unit: the contract --------------------------------------------------------------------------
def test_each_variable_feeds_its_flag_and_a_flag_wins():
    environ = {
        "MODEL_NAME": MODEL,
        "MODEL_VERSION": "04",
        "MODEL_LABEL": "canary",
        "AIP_ENV": "prod",
        "AIP_DEVICE": "cpu",
    }
    contract = resolve(environ=environ)
    assert (contract.models, contract.version, contract.label, contract.env, contract.device) == (
        [MODEL],
        "4",
        "canary",
        "prod",
        "cpu",
    )
    assert contract.origin == {
        "models": "MODEL_NAME",
        "version": "MODEL_VERSION",
        "label": "MODEL_LABEL",
        "env": "AIP_ENV",
        "device": "AIP_DEVICE",
    }
    flags = resolve(models=MODEL, version="5", label="baseline", env="dev", device="auto", environ=environ)
    assert (flags.version, flags.label, flags.env, flags.device) == ("5", "baseline", "dev", "auto")
    assert flags.origin["version"] == "--version" and flags.source("label") == "--label"
    default = resolve(environ={})
    assert (default.models, default.version, default.label, default.env, default.device) == (
        [],
        None,
        "stable",
        None,
        "auto",
    )


@pytest.mark.parametrize(
    ("environ", "flags", "expected"),
    [
        ({"MODEL_LABEL": "blue"}, {}, "MODEL_LABEL=blue: expected one of stable, canary, baseline"),
        ({}, {"label": "blue"}, "--label blue: expected one of stable, canary, baseline"),
        ({"MODEL_NAME": MODEL, "MODEL_VERSION": "v2"}, {}, "MODEL_VERSION=v2: expected a registry version"),
        ({"MODEL_VERSION": "2"}, {}, "MODEL_VERSION=2 pins one model's version, but no model is named"),
        (
            {"MODEL_NAME": "a,b", "MODEL_VERSION": "2"},
            {},
            "MODEL_VERSION=2 pins one model's version, but MODEL_NAME names 2 models",
        ),
        ({"MODEL_NAME": MODEL, "MODEL_LABEL": "canary"}, {}, "a canary server serves a pinned version"),
        ({"MODEL_VERSION": " "}, {}, "environment variable MODEL_VERSION (feeds --version) is set but empty"),
        ({"AIP_DEVICE": "gpu"}, {}, "AIP_DEVICE=gpu: expected one of auto, cpu, cuda"),
    ],
)
def test_bad_input_names_the_variable_or_flag_and_what_was_expected(environ, flags, expected):
    with pytest.raises(ServeError) as info:
        resolve(environ=environ, **flags)
    assert expected in str(info.value)


def test_device_auto_follows_torch_and_cuda_without_a_gpu_is_a_clear_error():
    import torch

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto", cuda_available=False) == "cpu"
    assert resolve_device("auto", cuda_available=True) == "cuda"
    if torch.cuda.is_available():
        assert resolve_device("auto") == "cuda" and resolve_device("cuda") == "cuda"
        return
    assert resolve_device("auto") == "cpu"  # this machine: no GPU
    with pytest.raises(ServeError, match=r"AIP_DEVICE=cuda: no CUDA GPU is visible"):
        resolve_device("cuda", "AIP_DEVICE")


# ---- unit: the Kubernetes backend's rollout metrics -------------------------------------------------
class _Gateway(http.server.BaseHTTPRequestHandler):
    """A Pushgateway's push API, as far as prometheus_client uses it: GET /metrics, PUT a group."""

    pushes: list[tuple[str, str]] = []

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        type(self).pushes.append((self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_the_kubernetes_backend_pushes_rollout_metrics_and_says_once_when_it_cannot(monkeypatch, capsys):
    from pipelines.deploy.backends import KubernetesBackend, OfflineKubectl

    backend = KubernetesBackend(OfflineKubectl(Path("/nonexistent")))
    monkeypatch.delenv("AIP_PUSHGATEWAY_URL", raising=False)
    backend.record({"model": MODEL, "env": "prod", "kind": "weight", "weight": 0.1})
    backend.record({"model": MODEL, "env": "prod", "kind": "weight", "weight": 0.2})
    assert capsys.readouterr().err.count("AIP_PUSHGATEWAY_URL is not set") == 1

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AIP_PUSHGATEWAY_URL", f"http://127.0.0.1:{server.server_address[1]}")
        backend.record({"model": MODEL, "env": "prod", "kind": "weight", "weight": 0.25})
        backend.record(
            {"model": MODEL, "env": "prod", "kind": "analysis", "check": "error_rate", "result": "fail"}
        )
        backend.record({"model": MODEL, "env": "prod", "kind": "verdict", "verdict": "rolled_back"})
    finally:
        server.shutdown()
        server.server_close()
    paths = {path for path, _ in _Gateway.pushes}
    assert paths == {f"/metrics/job/aip-deploy/env/prod/model/{MODEL}"}
    bodies = "\n".join(body for _, body in _Gateway.pushes)
    assert f'aip_rollout_canary_weight_ratio{{env="prod",model="{MODEL}"}} 0.25' in bodies
    assert 'aip_rollout_analysis_total{check="error_rate",env="prod",' in bodies
    assert (
        'aip_rollout_verdicts_total{env="prod",model="tumor-classifier",verdict="rolled_back"} 1.0' in bodies
    )
    assert "aip_rollout_last_verdict_timestamp_seconds{" in bodies
    assert "not pushed" not in capsys.readouterr().err


# ---- process: bad input ------------------------------------------------------------------------
def run_serve(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "pipelines",
        "serve",
        "--grpc-port",
        "0",
        "--rest-port",
        str(free_port()),
    ]
    return subprocess.run(
        [*command, *args], cwd=root, env=clean_environ(AIP_REPO=str(root), **env),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.integration
@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({"MODEL_LABEL": "blue"}, (), "MODEL_LABEL=blue: expected one of stable, canary, baseline"),
        ({"MODEL_VERSION": "2"}, (), "MODEL_VERSION=2 pins one model's version, but no model is named"),
        ({"MODEL_NAME": MODEL, "MODEL_LABEL": "canary"}, (), "set MODEL_VERSION (or --version)"),
        (
            {"MODEL_NAME": MODEL, "MODEL_VERSION": "9", "AIP_ENV": "local"},
            (),
            f"MODEL_VERSION=9: {MODEL} has no version 9 in the registry of environment 'local'; "
            "registered: 1, 2, 3",
        ),
        ({"MODEL_NAME": "nope"}, (), "unknown model(s) nope (MODEL_NAME)"),
    ],
)
def test_bad_input_stops_the_server_with_a_message_naming_the_variable(served_repo, env, args, expected):
    result = run_serve(served_repo, env, *args)
    assert result.returncode != 0, result.stdout
    assert expected in result.stderr, result.stderr


@pytest.mark.integration
def test_device_cuda_without_a_gpu_is_refused(served_repo):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal is for machines without one")
    result = run_serve(served_repo, {"MODEL_NAME": MODEL, "AIP_DEVICE": "cuda"})
    assert result.returncode != 0
    assert "AIP_DEVICE=cuda: no CUDA GPU is visible" in result.stderr
    result = run_serve(served_repo, {"MODEL_NAME": MODEL}, "--device", "cuda")
    assert result.returncode != 0 and "--device cuda: no CUDA GPU is visible" in result.stderr


# ---- process: the manifests' contract ----------------------------------------------------------
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


def deployment_contract(folder: Path, track: str, pin: str | None) -> tuple[list[str], dict[str, str]]:
    """The rendered dev overlay's model-server-<track> container (args, env), after the real
    KubernetesBackend pinned `pin` on the canary the way `aip deploy` does."""
    from pipelines.deploy.backends import KubernetesBackend, OfflineKubectl

    cluster = OfflineKubectl.from_kustomize(REPO / "infra" / "k8s" / "overlays" / "dev", folder)
    if pin is not None:
        KubernetesBackend(cluster).load_canary(MODEL, pin)
    return track_command(cluster, track)


class Track:
    def __init__(self, root: Path, work: Path, track: str, pin: str | None) -> None:
        args, env = deployment_contract(work / f"rendered-{track}", track, pin)
        self.manifest_env = dict(env)
        env["AIP_ENV"] = "local"  # the test registry's alias; dev's registry is a remote MLflow
        self.rest, self.grpc = free_port(), free_port()
        self.log = work / f"serve-{track}.log"
        self.handle = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pipelines", *with_ports(args, self.rest, self.grpc)],
            cwd=root, env=clean_environ(AIP_REPO=str(root), AIP_ADMIN_TOKEN=ADMIN_TOKEN, **env),
            stdout=self.handle, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.rest}"

    def wait(self) -> None:
        wait_until_ready(f"{self.url}/readyz", self.process, 180, log=lambda: self.log.read_text()[-3000:])

    def get(self, path: str) -> tuple[dict[str, str], Any]:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            body = response.read().decode()
            headers = {k.lower(): v for k, v in response.headers.items()}
        return headers, json.loads(body) if body.startswith(("{", "[")) else body

    def predict(self, rows: list[dict[str, float]]) -> dict[str, str]:
        request = urllib.request.Request(
            f"{self.url}/v1/models/{MODEL}:predict",
            data=json.dumps({"instances": rows}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            return {k.lower(): v for k, v in response.headers.items()}

    def stop(self) -> int:
        code = stop(self.process, timeout_s=60)
        self.handle.close()
        return code


@pytest.fixture(scope="module")
def tracks(served_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Track]]:
    work = tmp_path_factory.mktemp("contract")
    started = {
        "canary": Track(served_repo, work, "canary", CANARY_VERSION),
        "stable": Track(served_repo, work, "stable", None),
    }
    try:
        for track in started.values():
            track.wait()
        yield started
    finally:
        for track in started.values():
            track.stop()


@pytest.mark.integration
@needs_kubectl
def test_the_manifest_env_is_exactly_the_contract_with_the_version_the_backend_pinned(tracks):
    assert tracks["canary"].manifest_env == {
        "MODEL_NAME": MODEL,
        "MODEL_LABEL": "canary",
        "AIP_ENV": "dev",
        "AIP_DEVICE": "cpu",  # dev serves on CPU: its GPUs go to runners (tests/infra/test_gpu_capacity.py)
        "MODEL_VERSION": CANARY_VERSION,
    }
    assert tracks["stable"].manifest_env == {
        "MODEL_NAME": MODEL,
        "MODEL_LABEL": "stable",
        "AIP_ENV": "dev",
        "AIP_DEVICE": "cpu",
    }


@pytest.mark.integration
@needs_kubectl
def test_a_canary_server_from_the_manifest_serves_the_pinned_version_as_canary_over_rest(tracks, tumor_rows):
    canary = tracks["canary"]
    _, status = canary.get(f"/v1/models/{MODEL}")
    assert status == {
        "model_version_status": [
            {
                "version": CANARY_VERSION,
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    _, labelled = canary.get(f"/v1/models/{MODEL}/labels/canary")
    assert [s["version"] for s in labelled["model_version_status"]] == [CANARY_VERSION]
    for _ in range(3):
        headers = canary.predict(tumor_rows[:2])
        assert headers["x-model-version"] == CANARY_VERSION and headers["x-model-label"] == "canary"
    _, metrics = canary.get("/metrics")
    series = [line for line in metrics.splitlines() if line.startswith("aip_serving_requests_total{")]
    assert series and all('label="canary"' in s and f'version="{CANARY_VERSION}"' in s for s in series), (
        series
    )
    assert (
        f'aip_serving_loaded_versions{{label="canary",model="{MODEL}",version="{CANARY_VERSION}"}} 1.0'
        in metrics
    )
    assert 'label="stable"' not in metrics
    # The stable track beside it: the alias's version, labelled stable.
    headers = tracks["stable"].predict(tumor_rows[:1])
    assert headers["x-model-version"] == "1" and headers["x-model-label"] == "stable"
    # A track server holds no split: the admin API's canary calls are the gateway's business.
    request = urllib.request.Request(
        f"{canary.url}/v1/admin/models/{MODEL}/canary", data=b'{"version": "1"}', method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN_TOKEN}"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=30)
    body = info.value.read().decode()
    info.value.close()
    assert info.value.code == 409 and "this server is the canary track" in body, body


@pytest.mark.integration
@needs_kubectl
def test_a_canary_server_from_the_manifest_serves_the_pinned_version_over_grpc_with_health(
    tracks, tumor_rows
):
    pytest.importorskip("tensorflow_serving.apis.prediction_service_pb2_grpc", reason="the `grpc` extra")
    import grpc
    import numpy as np
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from tensorflow.core.framework import tensor_pb2, types_pb2
    from tensorflow_serving.apis import (
        get_model_status_pb2,
        model_service_pb2_grpc,
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    canary = tracks["canary"]
    with grpc.insecure_channel(f"127.0.0.1:{canary.grpc}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", MODEL, "tensorflow.serving.PredictionService"):
            answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING, service
        with pytest.raises(grpc.RpcError) as info:
            health.Check(health_pb2.HealthCheckRequest(service="no-such-model"), timeout=10)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND

        request = predict_pb2.PredictRequest()
        request.model_spec.name = MODEL
        for name in tumor_rows[0]:
            tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT)
            tensor.tensor_shape.dim.add().size = 2
            tensor.tensor_content = np.array([r[name] for r in tumor_rows[:2]], dtype=np.float32).tobytes()
            request.inputs[name].CopyFrom(tensor)
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response, call = stub.Predict.with_call(request, timeout=30)
        assert response.model_spec.version.value == int(CANARY_VERSION)
        trailing = dict(call.trailing_metadata())
        assert trailing["x-model-label"] == "canary" and trailing["x-model-version"] == CANARY_VERSION

        status_request = get_model_status_pb2.GetModelStatusRequest()
        status_request.model_spec.name = MODEL
        status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status_request, timeout=30)
        assert [(s.version, s.state) for s in status.model_version_status] == [(int(CANARY_VERSION), 30)]
    _, metrics = canary.get("/metrics")
    series = [line for line in metrics.splitlines() if line.startswith("aip_serving_requests_total{")]
    assert series and all('label="canary"' in s and f'version="{CANARY_VERSION}"' in s for s in series)


@pytest.mark.integration
@pytest.mark.slow
@needs_kubectl
def test_grpc_health_turns_not_serving_when_the_server_drains(served_repo, tmp_path):
    pytest.importorskip("tensorflow_serving.apis.prediction_service_pb2_grpc", reason="the `grpc` extra")
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    track = Track(served_repo, tmp_path, "canary", CANARY_VERSION)
    try:
        track.wait()
        with grpc.insecure_channel(f"127.0.0.1:{track.grpc}") as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service=""), timeout=60
            )
            seen = [next(watch).status]
            track.process.send_signal(signal.SIGTERM)
            try:
                for answer in watch:
                    seen.append(answer.status)
                    if answer.status != health_pb2.HealthCheckResponse.SERVING:
                        break
            except grpc.RpcError:
                pass  # the stream ends when the server stops
        assert seen[0] == health_pb2.HealthCheckResponse.SERVING
        assert health_pb2.HealthCheckResponse.NOT_SERVING in seen[1:], seen
        assert track.process.wait(60) == 0
    finally:
        track.stop()


# ---- end to end: Prometheus scrapes both tracks, PrometheusSource reads them ------------------------
@pytest.mark.integration
@pytest.mark.slow
@needs_kubectl
def test_prometheus_source_finds_the_canary_servers_requests(tracks, tumor_rows, tmp_path):
    from pipelines.deploy.metrics import PrometheusSource

    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail(
            "prometheus not found on PATH: install Debian's package with `apt-get install -y prometheus`"
        )
    port = free_port()
    config = {
        "global": {"scrape_interval": "500ms", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "model-server",
                "metrics_path": "/metrics",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{t.rest}"], "labels": {"track": name}}
                    for name, t in tracks.items()
                ],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(json.dumps(config))
    log = (tmp_path / "prometheus.log").open("w")
    prom = subprocess.Popen(
        [prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{url}/-/ready", prom, 60, interval_s=0.5)
        canary, stable = tracks["canary"], tracks["stable"]
        # Prometheus applies its targets a few seconds after start: wait until both tracks are up.
        deadline, up = time.monotonic() + 60, []
        while time.monotonic() < deadline and len(up) < 2:
            time.sleep(0.5)
            up = PrometheusSource(url).query('up{job="model-server"} == 1', time.time())
        assert len(up) == 2, up
        # Warm-up: every series exists before the window (increase() cannot count before a first scrape).
        for row in tumor_rows:
            canary.predict([row])
            stable.predict([row])
        time.sleep(3)
        start = time.time()
        time.sleep(2)
        for row in tumor_rows[:30]:
            canary.predict([row])
        for row in tumor_rows[:12]:
            stable.predict([row])
        time.sleep(4)
        end = time.time()

        source = PrometheusSource(url)
        canary_window = source.window(MODEL, "canary", CANARY_VERSION, start, end)
        stable_window = source.window(MODEL, "stable", "1", start, end)
        assert canary_window.requests == pytest.approx(30, abs=3), canary_window.summary()
        assert stable_window.requests == pytest.approx(12, abs=2), stable_window.summary()
        # increase() extrapolates each series on its own: counts agree to within a few requests.
        assert canary_window.errors == 0
        assert len(canary_window.latencies) == pytest.approx(30, abs=3)
        assert sum(canary_window.class_counts.values()) == pytest.approx(30, abs=3)
        # Nothing of the canary's is counted under the stable's label or version, and the reverse.
        assert source.window(MODEL, "stable", CANARY_VERSION, start, end).requests == 0
        assert source.window(MODEL, "canary", "1", start, end).requests == 0
    finally:
        stop(prom)
        log.close()
        print((tmp_path / "prometheus.log").read_text()[-2000:], file=sys.stderr)
