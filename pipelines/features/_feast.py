"""Import Feast without its process-wide side effect on Prometheus.

Importing `feast` (its `feast.metrics` module) sets PROMETHEUS_MULTIPROC_DIR in `os.environ` when it is
unset, pointing at a temporary folder it deletes at exit. That switches prometheus_client into
multi-process mode for the whole process and every child it starts: the serving process would keep its
metrics in files under Feast's folder, `remove()` of a retired version's series warns, and an MLflow
server started from that process would export into a folder about to vanish. Feast's metrics only
matter to its own feature server, which the platform does not run; the online store is read in-process.
"""

from __future__ import annotations

import os
from types import ModuleType

_PROMETHEUS_VARS = ("PROMETHEUS_MULTIPROC_DIR", "PROMETHEUS_MULTIPROCESS_DIR", "prometheus_multiproc_dir")


def import_feast() -> ModuleType:
    """The `feast` module, imported with the process environment as it was before."""
    # prometheus_client picks its value storage at import: import it first, while the mode is ours
    import prometheus_client.values  # noqa: F401

    before = {name: os.environ.get(name) for name in _PROMETHEUS_VARS}
    try:
        import feast
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return feast
