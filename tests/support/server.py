"""A server a test started as a process: wait until it answers, stop it."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable


def wait_until_ready(
    url: str,
    process: subprocess.Popen[str],
    timeout_s: float,
    *,
    log: Callable[[], str] = lambda: "",
    interval_s: float = 0.2,
) -> None:
    """Return once GET `url` answers 200; AssertionError (with `log()`) if the process exits first or
    `timeout_s` passes (the process is then killed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args!r} exited with {process.returncode}:\n{log()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(interval_s)
    stop(process, timeout_s=0)
    raise AssertionError(f"{url} not ready after {timeout_s} s:\n{log()}")


def stop(process: subprocess.Popen[str], *, timeout_s: float = 30, sig: int | None = None) -> int:
    """Terminate (or send `sig`), wait up to `timeout_s`, then kill; returns the exit code."""
    if process.poll() is None:
        if sig is None:
            process.terminate()
        else:
            process.send_signal(sig)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    return int(process.returncode)
