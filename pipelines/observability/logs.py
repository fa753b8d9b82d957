"""Structured logs in the Elastic Common Schema (ECS), one JSON object per line, for every process:
the model server, the canary controller and the pipelines.

    from pipelines.observability import logs

    logs.configure("aip-serve", env="prod")     # once, at start-up (stderr; level: $AIP_LOG_LEVEL)
    log = logs.get_logger(__name__)
    with logs.context(request_id=rid, model="tumor-classifier", version="3", label="canary"):
        log.info("predicted", extra={"http.response.status_code": 200, "event.duration": 4_200_000})

Each line carries `service.name`, `service.environment`, and from the context `http.request.id`
(request id), `labels.model`, `labels.model_version`, `labels.model_label`: the fields the platform's
index template and ingest pipeline in docs/elasticsearch/ map (see docs/observability.md).
Logs go to stdout/stderr only; the cluster's log shipper (Filebeat/Elastic Agent, Fluent Bit) sends them
to Elasticsearch. Payloads and secrets never reach a log line by default: `extra` keys that look like a
request body or a credential are dropped, and bearer tokens or `key=value` secrets in messages are masked.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import sys
from collections.abc import Iterator
from typing import IO, Any

LEVEL_ENV = "AIP_LOG_LEVEL"  # DEBUG, INFO (default), WARNING, ERROR
FORMAT_ENV = (
    "AIP_LOG_FORMAT"  # progress of CLI jobs: "text" (default, for people) or "ecs" (for a log shipper)
)
ROOT_LOGGER = "pipelines"  # every engine logger lives under it
_CONTEXT_FIELDS = {
    "request_id": "http.request.id",
    "model": "labels.model",
    "version": "labels.model_version",
    "label": "labels.model_label",
    "env": "service.environment",
}
# `extra` keys dropped unless configure(allow_payloads=True): request/response bodies and credentials.
_PAYLOAD_KEYS = re.compile(
    r"(^|[._])(body|payload|instances|inputs|outputs|predictions|examples|text)$", re.I
)
_SECRET_KEYS = re.compile(r"(password|passwd|secret|token|authorization|api[_-]?key|cookie|credential)", re.I)
_SECRET_TEXT = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[REDACTED]"),
    (
        re.compile(
            r"(?i)\b(password|passwd|secret|token|api[_-]?key|authorization)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
        ),
        r"\1\2[REDACTED]",
    ),
    (re.compile(r"(?i)(://[^:/\s]+:)[^@/\s]+@"), r"\1[REDACTED]@"),  # credentials in URLs
]

# Flat field names other modules log with (e.g. the server's `event(..., request_id=..., status=...)`,
# passed as `extra={"fields": {...}}`) and their ECS names; unknown ones go under `labels.`.
_FLAT_TO_ECS = {
    "request_id": "http.request.id",
    "method": "http.request.method",
    "status": "http.response.status_code",
    "path": "url.path",
    "model": "labels.model",
    "version": "labels.model_version",
    "label": "labels.model_label",
    "env": "service.environment",
    "verdict": "labels.verdict",
    "step": "labels.step",
    "error": "error.message",
}

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "aip_log_context", default=None
)
_RECORD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def redact_text(text: str) -> str:
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


class _ContextAndRedaction(logging.Filter):
    """Adds the service and request context to each record; drops payload and secret fields."""

    def __init__(self, service: str, env: str | None, allow_payloads: bool) -> None:
        super().__init__()
        self.service, self.env, self.allow_payloads = service, env, allow_payloads

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        flat = fields.pop("fields", None)
        if isinstance(flat, dict):
            for key, value in flat.items():
                if key == "latency_ms" and isinstance(value, int | float):
                    fields.setdefault("event.duration", int(value * 1_000_000))  # ECS: nanoseconds
                else:
                    fields.setdefault(_FLAT_TO_ECS.get(key, f"labels.{key}"), value)
        for key in [k for k in fields if k not in _RECORD_ATTRS]:
            if _SECRET_KEYS.search(key) or (not self.allow_payloads and _PAYLOAD_KEYS.search(key)):
                del fields[key]
        fields.setdefault("service.name", self.service)
        if self.env:
            fields.setdefault("service.environment", self.env)
        for key, value in (_context.get() or {}).items():
            fields.setdefault(_CONTEXT_FIELDS[key], value)
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if record.args:
            record.args = (
                tuple(redact_text(a) if isinstance(a, str) else a for a in record.args)
                if isinstance(record.args, tuple)
                else record.args
            )
        return True


def ecs_handler(
    service: str, env: str | None = None, *, stream: IO[str] | None = None, allow_payloads: bool = False
) -> logging.Handler:
    """A stderr handler writing ECS JSON lines, for a module that manages its own loggers."""
    import ecs_logging

    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(ecs_logging.StdlibFormatter(exclude_fields=["process", "log.original"]))
    handler.addFilter(_ContextAndRedaction(service, env, allow_payloads))
    return handler


def configure(
    service: str,
    env: str | None = None,
    *,
    level: str | None = None,
    stream: IO[str] | None = None,
    allow_payloads: bool = False,
    logger: str = ROOT_LOGGER,
) -> logging.Logger:
    """ECS JSON lines on `stream` (stderr) for the `pipelines` loggers; idempotent (replaces its handler)."""
    target = logging.getLogger(logger)
    for old in [h for h in target.handlers if getattr(h, "_aip_ecs", False)]:
        target.removeHandler(old)
    handler = ecs_handler(service, env, stream=stream, allow_payloads=allow_payloads)
    handler._aip_ecs = True  # type: ignore[attr-defined]
    target.addHandler(handler)
    target.setLevel((level or os.environ.get(LEVEL_ENV) or "INFO").upper())
    target.propagate = False
    return target


def get_logger(name: str) -> logging.Logger:
    """A logger under `pipelines` (names outside it are nested: `pipelines.<name>`)."""
    return logging.getLogger(name if name.startswith(ROOT_LOGGER) else f"{ROOT_LOGGER}.{name}")


@contextlib.contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Request-scoped fields (request_id, model, version, label, env) on every line logged inside."""
    unknown = set(fields) - set(_CONTEXT_FIELDS)
    if unknown:
        raise ValueError(
            f"unknown log context field(s) {sorted(unknown)}; allowed: {sorted(_CONTEXT_FIELDS)}"
        )
    token = _context.set(
        {**(_context.get() or {}), **{k: str(v) for k, v in fields.items() if v is not None}}
    )
    try:
        yield
    finally:
        _context.reset(token)


_progress_logger: logging.Logger | None = None


def start_progress(service: str, env: str | None = None) -> None:
    """Once per CLI job (`aip-run`, `aip-deploy`): with AIP_LOG_FORMAT=ecs, progress lines become ECS JSON."""
    global _progress_logger  # noqa: PLW0603 - one progress channel per process
    if os.environ.get(FORMAT_ENV, "text").lower() == "ecs":
        configure(service, env)
        _progress_logger = get_logger(service)
    else:
        _progress_logger = None


def progress(message: str) -> None:
    """A progress line: plain text on stderr, or an ECS log record after start_progress in ecs mode."""
    if _progress_logger is None:
        print(message, file=sys.stderr, flush=True)
    else:
        _progress_logger.info(message.strip())


__all__ = [
    "FORMAT_ENV",
    "LEVEL_ENV",
    "configure",
    "context",
    "ecs_handler",
    "get_logger",
    "progress",
    "redact_text",
    "start_progress",
]
