"""Structured logs: one ECS JSON object per line on stderr. Never payloads, never tokens."""

from __future__ import annotations

import logging
import time
from typing import Any

__all__ = ["configure", "event"]

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
