"""Facts about where a run came from: package versions and hardware (its git commit:
`pipelines.git.head_commit`)."""

from __future__ import annotations

import platform
from importlib import metadata


def packages() -> str:
    """`name==version` of every installed distribution, sorted: the run's package environment."""
    seen = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            seen[name.lower()] = f"{name}=={dist.version}"
    return "\n".join(seen[k] for k in sorted(seen)) + "\n"


def system() -> dict[str, str]:
    """Interpreter and hardware facts logged with every training run."""
    facts = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    try:
        import torch

        facts["torch"] = torch.__version__
        facts["cuda"] = str(torch.version.cuda) if torch.cuda.is_available() else "none"
        if torch.cuda.is_available():
            facts["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    return facts
