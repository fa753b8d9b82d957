"""The dynamic batcher: batches form up to max_batch_size, a full queue refuses, close drains."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from pipelines.config.model import Batching
from pipelines.serving._batching import Batcher, BatcherClosed
from pipelines.serving.errors import Code, ServingError


class Recorder:
    """A forward that doubles numbers and records the batch sizes it saw; can be held on a gate."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, payloads: Sequence[Any]) -> list[Any]:
        self.gate.wait(10)
        self.batches.append(sum(len(p) for p in payloads))
        return [[2 * x for x in p] for p in payloads]


def test_each_task_gets_its_own_result():
    forward = Recorder()
    batcher = Batcher("m/1", forward, Batching(max_batch_size=8, batch_timeout_micros=1000))
    futures = [batcher.submit([i, i + 1], 2) for i in range(10)]
    assert [f.result(5) for f in futures] == [[2 * i, 2 * i + 2] for i in range(10)]
    batcher.close()


def test_tasks_queued_while_a_batch_runs_form_the_next_batch_up_to_max_batch_size():
    forward = Recorder()
    forward.gate.clear()
    batcher = Batcher("m/1", forward, Batching(max_batch_size=4, batch_timeout_micros=0))
    first = batcher.submit([0], 1)
    time.sleep(0.05)  # the worker now holds the first batch at the gate
    rest = [batcher.submit([i], 1) for i in range(1, 10)]
    forward.gate.set()
    for f in [first, *rest]:
        f.result(5)
    assert forward.batches[0] == 1
    assert max(forward.batches) == 4
    assert sum(forward.batches) == 10
    batcher.close()


def test_a_batch_waits_up_to_the_timeout_for_more_rows():
    forward = Recorder()
    batcher = Batcher("m/1", forward, Batching(max_batch_size=64, batch_timeout_micros=200_000))
    futures = [batcher.submit([i], 1) for i in range(5)]
    for f in futures:
        f.result(5)
    assert forward.batches == [5]
    batcher.close()


def test_a_full_queue_refuses_with_resource_exhausted_instead_of_growing():
    forward = Recorder()
    forward.gate.clear()
    settings = Batching(max_batch_size=2, batch_timeout_micros=0, max_enqueued_batches=2)
    batcher = Batcher("m/1", forward, settings)
    running = batcher.submit([0, 0], 2)
    time.sleep(0.05)
    queued = [batcher.submit([1, 1], 2), batcher.submit([2, 2], 2)]  # capacity: 2 batches x 2 rows
    with pytest.raises(ServingError) as refused:
        batcher.submit([3], 1)
    assert refused.value.code is Code.RESOURCE_EXHAUSTED
    assert "queue is full" in refused.value.message
    assert batcher.queued_rows == 4
    forward.gate.set()
    assert [f.result(5) for f in [running, *queued]] == [[0, 0], [2, 2], [4, 4]]
    batcher.close()


def test_a_task_larger_than_max_batch_size_runs_alone():
    forward = Recorder()
    batcher = Batcher("m/1", forward, Batching(max_batch_size=2, batch_timeout_micros=0))
    assert batcher.submit(list(range(5)), 5).result(5) == [0, 2, 4, 6, 8]
    assert forward.batches == [5]
    batcher.close()


def test_close_drains_queued_tasks_then_refuses_new_ones():
    forward = Recorder()
    forward.gate.clear()
    batcher = Batcher("m/1", forward, Batching(max_batch_size=1, batch_timeout_micros=0))
    futures = [batcher.submit([i], 1) for i in range(5)]
    closer = threading.Thread(target=batcher.close)
    closer.start()
    time.sleep(0.05)
    with pytest.raises(BatcherClosed):
        batcher.submit([9], 1)
    forward.gate.set()
    closer.join(5)
    assert [f.result(0) for f in futures] == [[2 * i] for i in range(5)]


def test_a_failing_forward_fails_every_task_of_its_batch_and_the_batcher_keeps_working():
    calls = []

    def forward(payloads: Sequence[Any]) -> list[Any]:
        calls.append(len(payloads))
        if len(calls) == 1:
            raise RuntimeError("boom")
        return list(payloads)

    batcher = Batcher("m/1", forward, Batching(max_batch_size=8, batch_timeout_micros=50_000))
    failing = [batcher.submit([i], 1) for i in range(3)]
    for f in failing:
        with pytest.raises(RuntimeError, match="boom"):
            f.result(5)
    assert batcher.submit([7], 1).result(5) == [7]
    batcher.close()


def test_several_batch_threads_share_the_queue():
    forward = Recorder()
    batcher = Batcher("m/1", forward, Batching(max_batch_size=4, num_batch_threads=3))
    futures = [batcher.submit([i], 1) for i in range(50)]
    assert [f.result(5) for f in futures] == [[2 * i] for i in range(50)]
    assert sum(forward.batches) == 50
    batcher.close()
