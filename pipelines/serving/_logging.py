"""Structured logs: one ECS JSON object per line on stderr. Never payloads, never tokens."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["configure", "event", "quiet_stderr"]

LOGGER = "aip.serving"


def configure(env: str | None = None, level: int = logging.INFO) -> None:
    """Route the server's and uvicorn's loggers to stderr as ECS JSON lines (docs/observability.md).

    The flat fields `event()` logs (request_id, model, version, label, status, latency_ms ...) map to
    their ECS names; payloads and tokens are dropped. uvicorn's access log is off: ours is richer.
    """
    from pipelines.observability.logs import ecs_handler

    handler = ecs_handler("aip-serve", env)
    for name in (LOGGER, "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    logging.getLogger(LOGGER).log(level, name, extra={"fields": fields})


def now() -> float:
    return time.perf_counter()


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (C++ libraries write to it directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:  # noqa: PTH123 - a raw descriptor is needed
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
