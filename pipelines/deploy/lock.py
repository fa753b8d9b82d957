"""One deploy per model and environment at a time.

Two layers, both taken before anything changes and released when the rollout ends:

- a file lock (`fcntl.flock`) on `<state_dir>/locks/deploy-<env>-<model>.lock`: exact on one machine,
  released by the kernel if the process dies, so a killed deploy never blocks the next;
- a registry-tag lease (`aip.deploy.lease.<env>` on the registered model) for registries shared by
  several machines (every non-SQLite tracking URI). MLflow has no compare-and-set, so the lease is
  written, then read back after `LEASE_SETTLE_SECONDS`: of two writers within that window the
  later write wins and the earlier one sees a foreign holder and backs off. The race window left is
  two writers whose read-backs both happen before either write lands (a registry slower than
  the settle time); CI closes it anyway with one concurrency group per environment. A lease whose
  holder died expires after its TTL (renewed on every step).

The holder's identity (host, pid, user, version, start time) is written into both, so a refused
deploy says who holds the lock.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pipelines.errors import AipError

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

__all__ = ["DeployLock", "LockHeld", "RegistryLease"]

LEASE_TAG = "aip.deploy.lease.{env}"
LEASE_SETTLE_SECONDS = 1.0


class LockHeld(AipError):
    """Another deploy of the same model to the same environment is running."""


def _holder(model: str, env: str, version: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "model": model,
        "env": env,
        "version": version,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "user": getpass.getuser(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def describe_holder(holder: dict[str, Any]) -> str:
    return (
        f"v{holder.get('version', '?')} by {holder.get('user', '?')}@{holder.get('host', '?')} "
        f"(pid {holder.get('pid', '?')}, started {holder.get('started', '?')})"
    )


@dataclass
class DeployLock:
    """The file lock; use as a context manager or acquire()/release()."""

    path: Path
    model: str
    env: str
    version: str
    holder: dict[str, Any] = field(default_factory=dict)
    _handle: IO[str] | None = None

    @classmethod
    def for_model(cls, state_dir: Path, model: str, env: str, version: str) -> DeployLock:
        return cls(state_dir / "locks" / f"deploy-{env}-{model}.lock", model, env, version)

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read()
            handle.close()
            try:
                who = describe_holder(json.loads(text))
            except json.JSONDecodeError:
                who = "a process that has not written its details yet"
            raise LockHeld(
                f"{self.model}: a deploy to '{self.env}' is already running: {who}; lock {self.path}. "
                "Wait for it to finish (a killed deploy releases the lock at once)."
            ) from None
        self.holder = _holder(self.model, self.env, self.version)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(self.holder))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> DeployLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass
class RegistryLease:
    """A lease tag on the registered model, for registries shared between machines."""

    client: MlflowClient
    model: str
    env: str
    holder: dict[str, Any]
    ttl_seconds: float
    settle_seconds: float = LEASE_SETTLE_SECONDS

    @property
    def tag(self) -> str:
        return LEASE_TAG.format(env=self.env)

    def _current(self) -> dict[str, Any] | None:
        tags = self.client.get_registered_model(self.model).tags
        raw = tags.get(self.tag)
        if not raw:
            return None
        try:
            lease: dict[str, Any] = json.loads(raw)
        except json.JSONDecodeError:
            return None
        return lease

    def _write(self) -> None:
        value = {**self.holder, "expires": time.time() + self.ttl_seconds}
        self.client.set_registered_model_tag(self.model, self.tag, json.dumps(value))

    def acquire(self) -> None:
        current = self._current()
        if (
            current
            and current.get("id") != self.holder["id"]
            and float(current.get("expires", 0)) > time.time()
        ):
            raise self._held(current)
        self._write()
        time.sleep(self.settle_seconds)
        current = self._current()
        if not current or current.get("id") != self.holder["id"]:
            raise self._held(current or {})

    def renew(self) -> None:
        self._write()

    def release(self) -> None:
        current = self._current()
        if current and current.get("id") == self.holder["id"]:
            self.client.delete_registered_model_tag(self.model, self.tag)

    def _held(self, current: dict[str, Any]) -> LockHeld:
        remaining = float(current.get("expires", 0)) - time.time()
        return LockHeld(
            f"{self.model}: a deploy to '{self.env}' is already running: {describe_holder(current)}; "
            f"registry lease tag '{self.tag}' on the registered model, expires in {max(0, remaining):.0f}s "
            "unless renewed."
        )
