"""A TrainJob's state from its conditions, and waiting for the end within a bounded time.

Trainer v2 sets the conditions `Suspended` (Kueue holds the job until its ClusterQueue has room),
`Complete` and `Failed` on the TrainJob; `spec.suspend` is true while the job waits for admission.
A job that is still suspended or running when the time is up is an error, with its conditions in
the message, as is a Failed one. The clock, sleep and progress line are parameters so tests drive
the loop without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pipelines.cluster.errors import JobFailed, JobTimedOut

__all__ = ["JobState", "job_state", "wait_for_job"]

Phase = Literal["pending", "queued", "running", "complete", "failed"]


@dataclass(frozen=True)
class JobState:
    phase: Phase
    conditions: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""  # child jobs and progress, when the status has them

    def describe_conditions(self) -> str:
        if not self.conditions:
            return "no conditions yet"
        parts = []
        for c in self.conditions:
            text = f"{c.get('type', '?')}={c.get('status', '?')}"
            reason, message = c.get("reason"), (c.get("message") or "").strip()
            if reason or message:
                text += f" ({reason or ''}{': ' if reason and message else ''}{message})"
            parts.append(text)
        return "; ".join(parts)


def _detail(status: dict[str, Any]) -> str:
    parts = []
    for job in status.get("jobsStatus") or []:
        counts = ", ".join(f"{k} {job.get(k, 0)}" for k in ("active", "ready", "succeeded", "failed"))
        parts.append(f"{job.get('name', '?')}: {counts}")
    progress = (status.get("trainerStatus") or {}).get("progressPercentage")
    if progress is not None:
        parts.append(f"{progress}% done")
    return "; ".join(parts)


def job_state(obj: dict[str, Any]) -> JobState:
    """The phase of a TrainJob object (as `kubectl get -o json` prints it)."""
    status = obj.get("status") or {}
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    true = {c.get("type") for c in conditions if c.get("status") == "True"}
    phase: Phase
    if "Failed" in true:
        phase = "failed"
    elif "Complete" in true:
        phase = "complete"
    elif (obj.get("spec") or {}).get("suspend") or "Suspended" in true:
        phase = "queued"
    elif not conditions and not status.get("jobsStatus"):
        phase = "pending"
    else:
        phase = "running"
    return JobState(phase, conditions, _detail(status))


def wait_for_job(
    get: Callable[[], dict[str, Any]],
    *,
    name: str,
    timeout_s: float,
    poll_s: float = 15.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] = print,
    hint: str = "",
) -> JobState:
    """Poll until Complete (returned), Failed (JobFailed) or `timeout_s` (JobTimedOut). Prints a line
    whenever the phase or the detail changes, and at least every 10 polls."""
    start = clock()
    last: tuple[str, str] | None = None
    polls = 0
    while True:
        state = job_state(get())
        elapsed = clock() - start
        if (state.phase, state.detail) != last or polls % 10 == 0:
            extra = f" ({state.detail})" if state.detail else ""
            progress(f"[{elapsed:6.0f}s] trainjob/{name}: {state.phase}{extra}")
            last = (state.phase, state.detail)
        if state.phase == "complete":
            return state
        if state.phase == "failed":
            raise JobFailed(f"trainjob/{name} failed: {state.describe_conditions()}{hint}")
        if elapsed >= timeout_s:
            what = (
                "still waiting for Kueue to admit it (suspended)"
                if state.phase == "queued"
                else f"still {state.phase}"
            )
            raise JobTimedOut(
                f"trainjob/{name} {what} after {timeout_s:g}s: {state.describe_conditions()}{hint}"
            )
        polls += 1
        sleep(max(0.0, min(poll_s, timeout_s - elapsed)))
