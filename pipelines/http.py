"""The one JSON-over-HTTP client of the engine, on the standard library.

Every caller (the canary controller, the GitHub and Grafana APIs, the MLflow health probe, the
Pushgateway, feedback endpoints) gets the same two errors: `Unreachable` when nothing answered and
`HttpError` when the server answered with an error status, each naming the method and URL.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from pipelines.errors import AipError

__all__ = ["HttpError", "Unreachable", "request", "request_json"]


class Unreachable(AipError):
    """Nothing answered at the URL (connection refused, timeout, DNS)."""


class HttpError(AipError):
    """The server answered with an error status; `message` is its `{"error": ...}` text or body."""

    def __init__(self, method: str, url: str, status: int, message: str) -> None:
        super().__init__(f"{method} {url} -> HTTP {status}: {message}")
        self.status = status
        self.message = message


def request(
    method: str,
    url: str,
    data: bytes | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    params: Mapping[str, str] | None = None,
) -> tuple[int, bytes]:
    """(status, body) of one request; raises HttpError for 4xx/5xx and Unreachable for no answer."""
    if params:
        url = f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode(params)}"
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        try:
            answer = json.loads(text)  # {"error": ...} (ours, MLflow's) or {"message": ...} (GitHub's)
            message = str(answer.get("error") or answer.get("message") or text)
        except (json.JSONDecodeError, AttributeError):
            message = text[:500]
        raise HttpError(method, url, exc.code, message) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unreachable(f"{method} {url}: {reason}") from None


def request_json(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    params: Mapping[str, str] | None = None,
) -> Any:
    """Send `body` as JSON (when given) and return the decoded JSON answer (None when empty)."""
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        sent["Content-Type"] = "application/json"
    if token:
        sent["Authorization"] = f"Bearer {token}"
    status, raw = request(method, url, data, headers=sent, timeout=timeout, params=params)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise HttpError(method, url, status, f"not JSON: {raw[:200]!r}") from None
