"""Fixtures of the serving tests: a small real registry and real `aip serve` processes on 127.0.0.1.

`served_repo` is a repo copy where `aip run tumor-classifier` trained and registered version 1 with
alias `local` (about a minute, once per session). Version 2 is registered from the same logged model
(same weights, another fingerprint tag: a healthy canary), version 3 points at a folder with pickled
weights only (a canary that fails to load).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_repo_copy, run_aip

MODEL = "tumor-classifier"
ADMIN_TOKEN = "admin-test-token"
START_TIMEOUT_S = 120.0


def registry(root: Path) -> Any:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{root / '.aip' / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture(scope="session")
def served_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if reuse := os.environ.get("AIP_TEST_SERVED_REPO"):  # developer shortcut: a repo built by a previous run
        yield Path(reuse)
        return
    root = make_repo_copy(tmp_path_factory.mktemp("serving") / "repo")
    result = run_aip(root, "run", MODEL)
    assert result.returncode == 0, result.stderr[-3000:]
    import mlflow

    # MLflow resolves a version's `models:/m-...` source through the global tracking URI.
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{root / '.aip' / 'mlflow.db'}")
    try:
        register_extra_versions(root)
    finally:
        mlflow.set_tracking_uri(previous)
    yield root


def register_extra_versions(root: Path) -> None:
    client = registry(root)
    v1 = client.get_model_version_by_alias(MODEL, "local")
    assert str(v1.version) == "1"
    client.create_model_version(
        MODEL,
        source=v1.source,
        run_id=v1.run_id,
        tags={"aip.fingerprint": "healthy-copy-of-v1"},
        model_id=getattr(v1, "model_id", None),
    )
    broken = root / ".aip" / "broken-model"
    (broken / "artifacts" / "aip_model").mkdir(parents=True)
    (broken / "MLmodel").write_text("artifact_path: model\nflavors: {}\n")
    (broken / "artifacts" / "aip_model" / "aip-model.json").write_text("{}")
    (broken / "artifacts" / "aip_model" / "model.bin").write_bytes(b"pickled weights")
    client.create_model_version(MODEL, source=str(broken), tags={"aip.fingerprint": "broken"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    """A running `aip serve` process."""

    process: subprocess.Popen[str]
    rest_port: int
    grpc_port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    handle: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        admin: bool = False,
        timeout: float = 30,
    ) -> Response:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if admin:
            all_headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
        except urllib.error.HTTPError as exc:
            return Response(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())

    def predict(self, instances: list[Any], path: str = f"/v1/models/{MODEL}:predict", **kw: Any) -> Response:
        return self.request("POST", path, {"instances": instances}, **kw)

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        return lines

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.handle is not None:
            self.handle.close()
        return int(self.process.returncode)


def start_server(
    root: Path, log_dir: Path, *args: str, env: dict[str, str] | None = None, grpc: bool = False
) -> Server:
    rest_port = free_port()
    grpc_port = free_port() if grpc else 0
    log = log_dir / f"serve-{rest_port}.log"
    full_env = {**os.environ, "AIP_REPO": str(root), "AIP_ADMIN_TOKEN": ADMIN_TOKEN, **(env or {})}
    handle = log.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "serve", "--models", MODEL, "--rest-port", str(rest_port),
         "--grpc-port", str(grpc_port), *args],
        cwd=root, env=full_env, stdout=handle, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    server = Server(process, rest_port, grpc_port, log, full_env, handle)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"aip serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if server.request("GET", "/readyz", timeout=2).status == 200:
                return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    server.stop(signal.SIGKILL)
    raise AssertionError(f"aip serve not ready in {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(served_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module, fault injection enabled (tests reset what they change)."""
    running = start_server(served_repo, tmp_path_factory.mktemp("logs"), "--enable-fault-injection")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def tumor_rows() -> list[dict[str, float]]:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return [dict(zip(data.feature_names, map(float, row), strict=True)) for row in data.data[:40]]
