"""Fixtures for the container images (containers/, scripts/image.sh): built once per session.

`serving_image` and `mlflow_image` build their image with scripts/image.sh (the layer cache makes a
rebuild of an unchanged tree take seconds; a cold build takes minutes) and return its reference. Every
podman call goes through `podman()`, which uses containers/containers.conf like `make image` does.
Without podman the tests that need it are skipped with that reason; `make test` installs it
(scripts/system-deps.sh), so in CI and here they run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = ROOT / "containers" / "containers.conf"
SERVING_IMAGE = "localhost/aip-serving:dev"
MLFLOW_IMAGE = "localhost/aip-mlflow:dev"

__all__ = ["CONTAINERS_CONF", "MLFLOW_IMAGE", "ROOT", "SERVING_IMAGE", "podman", "podman_env"]


def podman_env() -> dict[str, str]:
    """The environment for podman here: containers/containers.conf unless one is set already."""
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(CONTAINERS_CONF))
    return env


def podman(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `podman ARGS`, text output captured; raises with podman's output when it fails and `check`."""
    proc = subprocess.run(
        ["podman", *args], capture_output=True, text=True, env=podman_env(), timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        command = " ".join(args)
        raise AssertionError(f"podman {command} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _require_podman() -> None:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (`make system-deps` installs it; `make test` does so itself)")


def _build(name: str) -> str:
    """scripts/image.sh NAME, without its smoke tests (the tests here check more); the image's reference."""
    _require_podman()
    env = podman_env() | {"IMAGE_SMOKE": "0"}
    proc = subprocess.run(
        [str(ROOT / "scripts" / "image.sh"), name],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=1500,
        check=False,
    )
    assert proc.returncode == 0, f"scripts/image.sh {name} failed:\n{proc.stdout}\n{proc.stderr}"
    return f"localhost/aip-{name}:dev"


@pytest.fixture(scope="session")
def serving_image() -> str:
    """The model-server image, built from this tree (scripts/image.sh serving): its reference."""
    return _build("serving")


@pytest.fixture(scope="session")
def mlflow_image() -> str:
    """The MLflow server image, built from this tree (scripts/image.sh mlflow): its reference."""
    return _build("mlflow")
