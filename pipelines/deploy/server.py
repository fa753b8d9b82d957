"""The local `aip serve` process a rollout needs on the embedded default.

`ensure_server` reuses a server already answering at the environment's serving_endpoint (its admin
token must then be in AIP_ADMIN_TOKEN), or starts `aip serve --env ENV` on that 127.0.0.1 port with
a fresh admin token and waits for `/readyz`; `stop()` stops only what it started (SIGTERM: the
server drains in-flight requests).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from pipelines.deploy.backends import BackendError
from pipelines.http import HttpError, Unreachable, request_json

__all__ = ["ADMIN_TOKEN_ENV", "LocalServer", "answers", "ensure_server"]

ADMIN_TOKEN_ENV = "AIP_ADMIN_TOKEN"
READY_TIMEOUT_SECONDS = 300.0  # the text model's first load on a cold 2-core machine takes ~30 s


def answers(endpoint: str) -> bool:
    """True when something answers the server's liveness probe at the endpoint."""
    try:
        request_json("GET", f"{endpoint.rstrip('/')}/healthz", timeout=2.0)
    except Unreachable:
        return False
    except HttpError:
        return True  # something is there, if not our server
    return True


@dataclass
class LocalServer:
    endpoint: str
    token: str | None
    process: subprocess.Popen[bytes] | None  # None: a server someone else started
    log: Path | None = None

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ensure_server(
    root: Path,
    env: str,
    endpoint: str,
    state_dir: Path,
    *,
    fault_injection: bool = False,
    extra_args: list[str] | None = None,
) -> LocalServer:
    """A server at `endpoint`: the one answering there, or one started here (127.0.0.1 only)."""
    if answers(endpoint):
        token = os.environ.get(ADMIN_TOKEN_ENV)
        if not token:
            raise BackendError(
                f"a server answers at {endpoint} but {ADMIN_TOKEN_ENV} is not set: export the admin token "
                "it was started with, or stop it and let `aip` start its own"
            )
        return LocalServer(endpoint, token, None)
    url = urllib.parse.urlsplit(endpoint)
    if url.hostname not in ("127.0.0.1", "localhost") or url.port is None:
        raise BackendError(
            f"nothing answers at {endpoint}, and only a 127.0.0.1:PORT endpoint is started here"
        )
    token = secrets.token_urlsafe(24)
    log = state_dir / "logs" / f"serve-{env}-{url.port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pipelines",
        "serve",
        "--env",
        env,
        "--host",
        "127.0.0.1",
        "--rest-port",
        str(url.port),
        "--grpc-port",
        "0",
        "--no-prompts",  # a model canary's server: the LLM and the embedder would only slow its start
        *(["--enable-fault-injection"] if fault_injection else []),
        *(extra_args or []),
    ]
    child_env = {**os.environ, ADMIN_TOKEN_ENV: token, "AIP_REPO": str(root)}
    with log.open("ab") as out:
        process = subprocess.Popen(cmd, cwd=root, env=child_env, stdout=out, stderr=subprocess.STDOUT)
    server = LocalServer(endpoint, token, process, log)
    deadline = time.time() + READY_TIMEOUT_SECONDS
    while time.time() < deadline:
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-1500:]
            raise BackendError(
                f"`aip serve --env {env}` exited with {process.returncode}; log {log}:\n{tail}"
            )
        try:
            request_json("GET", f"{endpoint.rstrip('/')}/readyz", timeout=2.0)
            return server
        except (Unreachable, HttpError):
            time.sleep(0.5)
    server.stop()
    raise BackendError(
        f"`aip serve --env {env}` not ready at {endpoint} after {READY_TIMEOUT_SECONDS:.0f}s; log {log}"
    )
