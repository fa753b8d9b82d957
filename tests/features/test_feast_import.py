"""Feast's import must not switch the process's Prometheus client into multi-process mode.

`import feast` sets PROMETHEUS_MULTIPROC_DIR when unset; the serving process (which reads the online
store in-process) would then keep its metrics in Feast's temporary folder and warn on every retired
series. Run in a fresh interpreter: this test process may have imported Feast already.
"""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import os, warnings
from pipelines.features._feast import import_feast
feast = import_feast()
assert feast.FeatureStore, "feast imported"
leaked = {k: v for k, v in os.environ.items() if "MULTIPROC" in k.upper()}
assert not leaked, leaked
from prometheus_client import Gauge
gauge = Gauge("aip_probe", "probe", ["version"])
gauge.labels("1").set(1.0)
warnings.simplefilter("error")
gauge.remove("1")  # warns (an error here) in multi-process mode
print("in-process metrics")
"""


def test_importing_feast_leaves_prometheus_in_single_process_mode() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "in-process metrics"


def test_a_plain_feast_import_does_set_the_variable() -> None:
    """The reason for the wrapper: if Feast stops doing this, _feast.py can go."""
    probe = "import os, feast; print(os.environ.get('PROMETHEUS_MULTIPROC_DIR') is not None)"
    env = {k: v for k, v in os.environ.items() if "MULTIPROC" not in k.upper()}
    done = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"
