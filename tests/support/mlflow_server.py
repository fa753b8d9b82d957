"""A real `mlflow server` for tests: SQLite backend store, artifacts proxied to S3 on a moto endpoint.

`mlflow server --backend-store-uri sqlite:///... --artifacts-destination s3://BUCKET/mlflow` on
127.0.0.1: the shape of the platform's registry (one server, artifacts in object storage, clients that
need no S3 credentials because the server proxies artifacts: `mlflow-artifacts:/`). Up in about 12 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.ports import free_port
from tests.support.s3 import S3Server
from tests.support.server import stop, wait_until_ready

BIN = Path(sys.executable).parent


@contextmanager
def mlflow_server(
    folder: Path,
    s3: S3Server,
    bucket: str,
    *,
    app_name: str | None = None,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[str]:
    """Start the server (state in `folder`), yield its URL, stop it on exit.

    `app_name` is passed as `--app-name` (an `mlflow.app` plugin, e.g. aip-auth), `env` is added to
    the server's environment and `args` to its command line; the defaults start the plain server."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = folder / "mlflow-server.log"
    env = {
        **os.environ,
        **s3.env,
        "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),  # it execs uvicorn
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        **(env or {}),
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(BIN / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{folder / 'mlflow.db'}",
                "--artifacts-destination",
                f"s3://{bucket}/mlflow",
                *(["--app-name", app_name] if app_name else []),
                *args,
            ],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{url}/health", process, 120, log=log.read_text)
        yield url
    finally:
        stop(process)


def rest_call(
    url: str,
    method: str,
    path: str,
    body: Any = None,
    login: tuple[str, str] | None = None,
    host: str | None = None,
) -> tuple[int, Any]:
    """(status, decoded JSON or text) of one REST call to an MLflow server at `url`, with basic auth as
    `login` (None: no credentials) and an optional Host header; HTTP errors are returned, not raised."""
    import base64
    import json
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json"}
    if login is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(login).encode()).decode()
    if host is not None:
        headers["Host"] = host
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except json.JSONDecodeError:
        return status, raw.decode()
