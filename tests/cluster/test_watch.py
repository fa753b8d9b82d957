"""Reading a TrainJob's conditions and the bounded wait (pipelines/cluster/watch.py), with a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.cluster.errors import JobFailed, JobTimedOut
from pipelines.cluster.watch import job_state, wait_for_job
from tests.cluster.conftest import COMPLETE, FAILED, QUEUED, RUNNING, condition


def job(status: dict[str, Any] | None, suspend: bool = False) -> dict[str, Any]:
    obj: dict[str, Any] = {"spec": {"suspend": suspend}}
    if status is not None:
        obj["status"] = status
    return obj


@pytest.mark.parametrize(
    ("obj", "phase"),
    [
        (job(None), "pending"),
        (job(None, suspend=True), "queued"),
        (job(QUEUED, suspend=True), "queued"),
        (job(RUNNING), "running"),
        (job(COMPLETE), "complete"),
        (job(FAILED), "failed"),
        # Failed wins over Complete; a False condition does not count.
        (job({"conditions": [condition("Complete"), condition("Failed")]}), "failed"),
        (job({"conditions": [condition("Complete", "False")], "jobsStatus": [{"name": "node"}]}), "running"),
    ],
    ids=["new", "suspended-spec", "queued", "running", "complete", "failed", "failed-wins", "false-ignored"],
)
def test_phase_of_a_trainjob(obj, phase):
    assert job_state(obj).phase == phase


def test_conditions_and_child_jobs_are_described():
    state = job_state(job(RUNNING | {"trainerStatus": {"progressPercentage": 40}}))
    assert state.detail == "node: active 2, ready 2, succeeded 0, failed 0; 40% done"
    assert state.describe_conditions() == "Suspended=False (Resumed: TrainJob is resumed)"
    assert job_state(job(None)).describe_conditions() == "no conditions yet"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def drive(statuses: list[dict[str, Any]], timeout: float = 100.0) -> tuple[list[str], FakeTime, Any]:
    seq = list(statuses)
    fake, lines = FakeTime(), []

    def get() -> dict[str, Any]:
        return seq.pop(0) if len(seq) > 1 else seq[0]

    try:
        result: Any = wait_for_job(
            get,
            name="m-1",
            timeout_s=timeout,
            poll_s=10,
            clock=fake.clock,
            sleep=fake.sleep,
            progress=lines.append,
            hint="\n  look: kubectl describe",
        )
    except (JobFailed, JobTimedOut) as err:
        result = err
    return lines, fake, result


def test_waits_through_queue_and_run_to_complete_printing_each_change():
    lines, fake, result = drive([job(QUEUED, True), job(QUEUED, True), job(RUNNING), job(COMPLETE)])
    assert result.phase == "complete"
    assert [line.split("trainjob/m-1: ")[1].split(" ")[0] for line in lines] == [
        "queued",
        "running",
        "complete",
    ]
    assert "(node: active 2, ready 2, succeeded 0, failed 0)" in lines[1]
    assert fake.sleeps == [10, 10, 10]


def test_a_failed_job_raises_with_its_conditions():
    _, _, err = drive([job(RUNNING), job(FAILED)])
    assert isinstance(err, JobFailed)
    assert "trainjob/m-1 failed: Failed=True (JobsFailed: jobset node-0 failed: BackoffLimitExceeded)" in str(
        err
    )
    assert "look: kubectl describe" in str(err)


def test_a_job_kueue_never_admits_times_out_within_the_bound_saying_so():
    lines, fake, err = drive([job(QUEUED, True)], timeout=35)
    assert isinstance(err, JobTimedOut)
    assert "still waiting for Kueue to admit it (suspended) after 35s" in str(err)
    assert "Suspended=True (Suspended: TrainJob is suspended)" in str(err)
    assert fake.now == 35 and fake.sleeps == [10, 10, 10, 5]  # the last sleep ends at the bound
    assert len(lines) == 1  # one line per change, not per poll


def test_a_running_job_past_the_bound_times_out_too():
    _, _, err = drive([job(RUNNING)], timeout=20)
    assert isinstance(err, JobTimedOut) and "still running after 20s" in str(err)
