"""Peak resident memory (RSS) of this process while a block runs, not since the process started.

`getrusage`'s `ru_maxrss` never goes down: in `aip run` a tabular model trained after the
transformer would report the transformer's peak. On Linux the kernel's high-water mark is reset
for the block (`echo 5 > /proc/self/clear_refs`, then `VmHWM` in /proc/self/status): exact, and
it still counts the memory the process held before the block, which the block's work needs too.
Elsewhere a thread samples the RSS with psutil every SAMPLE_SECONDS, which can miss short spikes.

    with PeakRss() as peak:
        train(...)
    mlflow.log_metric("peak_rss_mb", peak.mb)
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

__all__ = ["PeakRss"]

SAMPLE_SECONDS = 0.05  # fallback sampler period: cheap, and catches anything that lasts a few batches
_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def _hwm_mb() -> float | None:
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return None


class PeakRss:
    """Context manager; `mb` is the peak RSS in MiB during the block, `method` how it was measured."""

    def __init__(self) -> None:
        self.mb = 0.0
        self.method = "none"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakRss:
        try:
            _CLEAR_REFS.write_text("5")  # resets VmHWM to the current RSS
            self.method = "vmhwm"
            return self
        except OSError:
            pass
        import psutil

        process = psutil.Process()
        self.method = "sampled"
        self.mb = process.memory_info().rss / 2**20

        def sample() -> None:
            while not self._stop.wait(SAMPLE_SECONDS):
                self.mb = max(self.mb, process.memory_info().rss / 2**20)

        self._thread = threading.Thread(target=sample, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.method == "vmhwm":
            self.mb = _hwm_mb() or 0.0
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
