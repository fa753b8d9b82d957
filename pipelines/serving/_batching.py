"""Dynamic batching with TF Serving's knobs: a bounded queue and worker threads that form batches.

A request (a *task* of one or more rows) is queued; a worker takes the oldest task, waits up to
`batch_timeout_micros` from that task's arrival for more rows, then runs up to `max_batch_size` rows
through the model in one forward pass. While a batch runs, new tasks queue up, so under load the
next batch forms at once. The queue holds at most `max_enqueued_batches * max_batch_size` rows: a
task that does not fit is refused (429 / RESOURCE_EXHAUSTED) instead of the queue growing. A task
larger than `max_batch_size` runs as a batch of its own.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipelines.serving.errors import Code, ServingError

if TYPE_CHECKING:
    # The knobs and their defaults: model.yaml `environments.<env>.serving.batching`.
    from pipelines.config.model import Batching

__all__ = ["Batcher", "BatcherClosed"]

Forward = Callable[[Sequence[Any]], Sequence[Any]]


class BatcherClosed(Exception):
    """The batcher stopped taking tasks (its version is being unloaded)."""


@dataclass
class _Task:
    payload: Any
    rows: int
    future: Future[Any]
    arrived: float = field(default_factory=time.monotonic)


class Batcher:
    """Queue tasks and run them through `forward` in batches.

    `forward(payloads)` receives the payloads of one batch and returns one result per payload.
    `on_batch(rows)` and `on_depth(rows)` report batch sizes and queue depth (metrics).
    """

    def __init__(
        self,
        name: str,
        forward: Forward,
        settings: Batching,
        *,
        on_batch: Callable[[int], None] | None = None,
        on_depth: Callable[[int], None] | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self._forward = forward
        self._on_batch = on_batch or (lambda rows: None)
        self._on_depth = on_depth or (lambda rows: None)
        self._queue: deque[_Task] = deque()
        self._queued_rows = 0
        self._running = 0
        self._closed = False
        self._cond = threading.Condition()
        self._timeout = settings.batch_timeout_micros / 1e6
        self._capacity_rows = settings.max_batch_size * settings.max_enqueued_batches
        self._threads = [
            threading.Thread(target=self._work, name=f"batch-{name}-{i}", daemon=True)
            for i in range(settings.num_batch_threads)
        ]
        for thread in self._threads:
            thread.start()

    # ---- producer side -----------------------------------------------------------------
    def submit(self, payload: Any, rows: int) -> Future[Any]:
        """Queue a task of `rows` rows; its future gets forward's result for this payload."""
        if rows < 1:
            raise ValueError("a task has at least one row")
        future: Future[Any] = Future()
        with self._cond:
            if self._closed:
                raise BatcherClosed(self.name)
            if self._queue and self._queued_rows + rows > self._capacity_rows:
                raise ServingError(
                    Code.RESOURCE_EXHAUSTED,
                    f"{self.name}: the batching queue is full "
                    f"({self._queued_rows} rows queued, max_enqueued_batches="
                    f"{self.settings.max_enqueued_batches}); retry later",
                )
            self._queue.append(_Task(payload, rows, future))
            self._queued_rows += rows
            depth = self._queued_rows
            self._cond.notify()
        self._on_depth(depth)
        return future

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, *, wait: bool = True, timeout: float | None = None) -> None:
        """Take no new tasks; the workers finish every queued task, then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if wait:
            for thread in self._threads:
                thread.join(timeout)

    # ---- worker side -------------------------------------------------------------------
    def _next_batch(self) -> list[_Task] | None:
        """Block until a batch is ready; None when closed and drained."""
        limit = self.settings.max_batch_size
        with self._cond:
            while True:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return None  # closed and drained
                deadline = self._queue[0].arrived + self._timeout
                while self._queue and self._queued_rows < limit and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                if not self._queue:
                    continue  # another worker took them
                batch = [self._queue.popleft()]
                rows = batch[0].rows
                while self._queue and rows + self._queue[0].rows <= limit:
                    task = self._queue.popleft()
                    batch.append(task)
                    rows += task.rows
                self._queued_rows -= rows
                depth = self._queued_rows
                break
        self._on_depth(depth)
        return batch

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            live = [t for t in batch if t.future.set_running_or_notify_cancel()]
            if not live:
                continue
            self._on_batch(sum(t.rows for t in live))
            try:
                results = self._forward([t.payload for t in live])
            except BaseException as exc:  # every waiting request must be answered
                for task in live:
                    _settle(task.future, exc=exc)
                continue
            for task, result in zip(live, results, strict=True):
                _settle(task.future, result=result)


def _settle(future: Future[Any], *, result: Any = None, exc: BaseException | None = None) -> None:
    try:
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
    except InvalidStateError:  # the waiter went away
        pass
