"""The real `aip` CLI in a subprocess, pointed at a repo copy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

AIP = [sys.executable, "-m", "pipelines"]


def run_aip(
    root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run `aip ARGS` in `root` with AIP_REPO=root; never raises on a non-zero exit."""
    full_env = {**os.environ, "AIP_REPO": str(root), **(env or {})}
    return subprocess.run(
        [*AIP, *args], cwd=root, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
