"""A real `aip serve` process on 127.0.0.1 for the tumour model, and requests to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import server as process_server
from tests.support.ports import free_port

MODEL = "tumor-classifier"
ADMIN_TOKEN = "admin-test-token"
START_TIMEOUT_S = 120.0


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
        code = process_server.stop(self.process, timeout_s=timeout, sig=sig)
        if self.handle is not None:
            self.handle.close()
        return code


def start_server(
    root: Path, log_dir: Path, *args: str, env: dict[str, str] | None = None, grpc: bool = False
) -> Server:
    """`aip serve --models tumor-classifier ARGS` on free ports, returned once /readyz answers 200."""
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
    try:
        process_server.wait_until_ready(
            f"{server.url}/readyz", process, START_TIMEOUT_S, log=lambda: log.read_text()[-3000:]
        )
    except AssertionError:
        handle.close()
        raise
    return server
