"""Shared fixtures of the infrastructure tests: the tools virtualenv and how to call its tools.

The tools venv's location and environment are in tests/support/infra.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.infra import INFRA, TOOLS_VENV, tool_env
from tests.support.repo import REPO_ROOT


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "infra: infrastructure checks that run the tools venv (make infra-check)"
    )
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(scope="session")
def tools_venv() -> Path:
    """The tools virtualenv, created (or refreshed when requirements/tools.txt changed) on first use."""
    subprocess.run(
        [str(REPO_ROOT / "scripts" / "setup-tools.sh")],
        env={**os.environ, "TOOLS_VENV": str(TOOLS_VENV)},
        check=True,
        timeout=900,
    )
    return TOOLS_VENV


@pytest.fixture(scope="session")
def tool(tools_venv: Path):
    """Run a tool of the tools venv: tool("checkov", "-d", ...) -> CompletedProcess (never raises)."""

    def _run(
        name: str, *args: str, cwd: Path = REPO_ROOT, timeout: int = 600, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(tools_venv / "bin" / name), *args],
            cwd=cwd,
            env={**tool_env(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return _run


@pytest.fixture(scope="session")
def infra_check(tool):
    """Run steps of infra/tools/infra_check.py in the tools venv."""

    def _run(*steps: str) -> subprocess.CompletedProcess[str]:
        return tool("python", str(INFRA / "tools" / "infra_check.py"), *steps)

    return _run


@pytest.fixture(scope="session")
def tools_python(tool):
    """Evaluate Python in the tools venv with infra/tools importable; returns the JSON it prints."""

    def _run(code: str) -> object:
        proc = tool("python", "-c", f"import sys; sys.path.insert(0, {str(INFRA / 'tools')!r})\n{code}")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return _run
