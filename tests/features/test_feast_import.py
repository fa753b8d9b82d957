"""Feast's import must not switch the process's Prometheus client into multi-process mode.

`import feast` sets PROMETHEUS_MULTIPROC_DIR when unset; the serving process (which reads the online
store in-process) would then keep its metrics in Feast's temporary folder and warn on every retired
series. Run in a fresh interpreter: this test process may have imported Feast already.
"""

from __future__ import annotations

import os
import subprocess
import sys

# prometheus_client reads the first two; Feast sets both; the lower-case one is the old name. (Other
# libraries set unrelated variables such as FORKED_BY_MULTIPROCESSING: never match on a substring.)
PROMETHEUS_VARS = ("PROMETHEUS_MULTIPROC_DIR", "PROMETHEUS_MULTIPROCESS_DIR", "prometheus_multiproc_dir")

PROBE = (
    f"PROMETHEUS_VARS = {PROMETHEUS_VARS!r}\n"
    + """
import os, warnings
from pipelines.features._feast import import_feast
feast = import_feast()
assert feast.FeatureStore, "feast imported"
leaked = {k: os.environ[k] for k in PROMETHEUS_VARS if k in os.environ}
assert not leaked, leaked
from prometheus_client import Gauge
gauge = Gauge("aip_probe", "probe", ["version"])
gauge.labels("1").set(1.0)
warnings.simplefilter("error")
gauge.remove("1")  # warns (an error here) in multi-process mode
print("in-process metrics")
"""
)


def run_probe(code: str) -> str:
    """Run `code` in a fresh interpreter whose environment has none of the Prometheus variables (the
    state Feast's import finds); its stdout, after asserting it exited 0."""
    env = {k: v for k, v in os.environ.items() if k not in PROMETHEUS_VARS}
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_importing_feast_leaves_prometheus_in_single_process_mode() -> None:
    assert run_probe(PROBE) == "in-process metrics"


def test_a_plain_feast_import_does_set_the_variable() -> None:
    """The reason for the wrapper: if Feast stops doing this, _feast.py can go."""
    probe = "import os, feast; print(os.environ.get('PROMETHEUS_MULTIPROC_DIR') is not None)"
    assert run_probe(probe) == "True"
