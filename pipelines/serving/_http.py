"""HTTP plumbing shared by the REST and admin fronts: JSON responses, bounded bodies, error mapping."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pipelines.serving._logging import event
from pipelines.serving.errors import Code, ServingError

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["Endpoint", "endpoint", "error_response", "json_response", "read_body"]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    from starlette.responses import Response

    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_response(exc: ServingError) -> Response:
    return json_response({"error": exc.message}, exc.code.http)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    too_large = ServingError(Code.TOO_LARGE, f"request body is larger than the limit of {limit} bytes")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


Endpoint = Callable[["Request"], Awaitable["Response"]]


def endpoint(fn: Endpoint) -> Endpoint:
    """Answer ServingError with its status and anything unexpected with 500, never a traceback page."""

    async def wrapped(request: Request) -> Response:
        try:
            return await fn(request)
        except ServingError as exc:
            return error_response(exc)
        except Exception as exc:
            event(
                "internal_error", logging.ERROR, path=request.url.path, error=f"{type(exc).__name__}: {exc}"
            )
            return json_response({"error": f"internal error: {type(exc).__name__}"}, 500)

    return wrapped
