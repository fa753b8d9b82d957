"""One deploy per model and environment: the file lock across processes, and the registry lease."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipelines.deploy.lock import DeployLock, LockHeld, RegistryLease

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipelines.deploy.lock import DeployLock
    lock = DeployLock.for_model(Path(sys.argv[1]), "tumor-classifier", "local", "7")
    lock.acquire()
    print("held", flush=True)
    time.sleep(60)
    """
)


def test_a_second_deploy_is_refused_naming_the_holder_and_gets_the_lock_once_the_holder_dies(tmp_path: Path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        second = DeployLock.for_model(tmp_path, "tumor-classifier", "local", "8")
        with pytest.raises(LockHeld) as info:
            second.acquire()
        message = str(info.value)
        assert "already running" in message and f"pid {holder.pid}" in message and "v7" in message
        assert "deploy-local-tumor-classifier.lock" in message
        # Another model or environment is not blocked.
        with DeployLock.for_model(tmp_path, "topic-classifier", "local", "1"):
            pass
        with DeployLock.for_model(tmp_path, "tumor-classifier", "dev", "1"):
            pass
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    with DeployLock.for_model(tmp_path, "tumor-classifier", "local", "8") as lock:  # killed: released
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()


@pytest.fixture
def client(tmp_path: Path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("tumor-classifier")
    return client


def holder(version: str) -> dict[str, object]:
    return {"id": f"id-{version}", "version": version, "host": "h", "pid": 1, "user": "u", "started": "now"}


@pytest.mark.integration
def test_the_registry_lease_refuses_a_second_holder_until_released_or_expired(client):
    first = RegistryLease(client, "tumor-classifier", "dev", holder("3"), ttl_seconds=60, settle_seconds=0.1)
    first.acquire()
    second = RegistryLease(client, "tumor-classifier", "dev", holder("4"), ttl_seconds=60, settle_seconds=0.1)
    with pytest.raises(LockHeld, match="v3 by u@h"):
        second.acquire()
    first.release()
    assert "aip.deploy.lease.dev" not in client.get_registered_model("tumor-classifier").tags
    second.acquire()
    second.release()

    stale = RegistryLease(client, "tumor-classifier", "dev", holder("5"), ttl_seconds=0.2, settle_seconds=0.1)
    stale.acquire()  # its process dies without releasing
    time.sleep(0.3)
    second.acquire()  # expired: taken over
    stale.release()  # a late release of someone else's lease changes nothing
    assert (
        json.loads(client.get_registered_model("tumor-classifier").tags["aip.deploy.lease.dev"])["id"]
        == "id-4"
    )


@pytest.mark.integration
def test_of_two_lease_writers_in_the_settle_window_only_the_last_keeps_it(client):
    first = RegistryLease(client, "tumor-classifier", "dev", holder("3"), ttl_seconds=60, settle_seconds=0.0)
    second = RegistryLease(client, "tumor-classifier", "dev", holder("4"), ttl_seconds=60, settle_seconds=0.0)
    first._write()  # first has written, but not yet read back
    second._write()  # second read an empty tag before first wrote (the race), and writes too
    assert first._current()["id"] == "id-4"  # first's read-back sees the foreign holder and backs off
