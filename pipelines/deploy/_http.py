"""A small JSON-over-HTTP client on the standard library (the controller needs nothing more)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

__all__ = ["HttpError", "Unreachable", "request_json"]


class Unreachable(Exception):
    """Nothing answered at the URL (connection refused, timeout, DNS)."""

    user_facing = True


class HttpError(Exception):
    """The server answered with an error status; `message` is its `{"error": ...}` text."""

    user_facing = True

    def __init__(self, method: str, url: str, status: int, message: str) -> None:
        super().__init__(f"{method} {url} -> HTTP {status}: {message}")
        self.status = status
        self.message = message


def request_json(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    timeout: float = 10.0,
    params: dict[str, str] | None = None,
) -> Any:
    if params:
        url = f"{url}?{urllib.parse.urlencode(params)}"
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        try:
            message = str(json.loads(text).get("error", text))
        except (json.JSONDecodeError, AttributeError):
            message = text[:500]
        raise HttpError(method, url, exc.code, message) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unreachable(f"{method} {url}: {reason}") from None
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise HttpError(method, url, 200, f"not JSON: {raw[:200]!r}") from None
