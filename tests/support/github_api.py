"""A recorded GitHub REST API on 127.0.0.1: GitHub is unreachable from the test machine.

Routes answer with responses shaped like GitHub's documented REST answers (recorded by hand from
docs.github.com, REST API version 2022-11-28); every request is kept, so a test asserts on what the
engine sent. Point the engine at it with `GitHub(slug, token, api_url=gh.url)` or `GITHUB_API_URL`.

    with RecordedGitHub() as gh:
        gh.route("GET", r"/repos/acme/x/environments", {"total_count": 0, "environments": []})
        gh.route("POST", r"/repos/acme/x/pulls", lambda req: (201, {"number": 7, ...}))
        ...
        assert [r.method for r in gh.requests] == [...]

`gh.load(folder)` routes every recorded response of a folder: each *.json file holds one response or a
list of them, `{"method": "GET", "path": "/repos/o/r/environments", "status": 200, "body": {...}}`
(`path` is a regular expression matched against the whole path, query string excluded).
Unrouted requests answer 404 {"message": "Not Found"} as GitHub does, and are recorded too.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], tuple[int, Any]]


class RecordedGitHub:
    def __init__(self, *, token: str | None = None) -> None:
        """`token`: when given, a request without `Authorization: Bearer <token>` answers 401."""
        self.token = token
        self.requests: list[Request] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- routes
    def route(self, method: str, path: str, response: Any, status: int = 200) -> None:
        """Answer `method path` (a regex over the path) with `response`: a JSON value, or a handler
        `Request -> (status, body)`. Later routes win over earlier ones for the same request."""
        handler: Handler = (
            response if callable(response) else lambda _req, body=response, code=status: (code, body)
        )
        with self._lock:
            self._routes.insert(0, (method.upper(), re.compile(path), handler))

    def load(self, folder: Path) -> None:
        for file in sorted(Path(folder).glob("*.json")):
            recorded = json.loads(file.read_text(encoding="utf-8"))
            for entry in recorded if isinstance(recorded, list) else [recorded]:
                self.route(entry["method"], entry["path"], entry.get("body"), int(entry.get("status", 200)))

    def calls(self, method: str | None = None, path: str | None = None) -> list[Request]:
        """The recorded requests, filtered by method and by a regex over the path."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper()) and (path is None or re.fullmatch(path, r.path))
        ]

    # -- server
    @property
    def url(self) -> str:
        assert self._server is not None, "use RecordedGitHub as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _answer(self, request: Request) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(request)
            routes = list(self._routes)
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
        for method, pattern, handler in routes:
            if method == request.method and pattern.fullmatch(request.path):
                return handler(request)
        return 404, NOT_FOUND

    def __enter__(self) -> RecordedGitHub:
        recorded = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                query = dict(urllib.parse.parse_qsl(parts.query))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = recorded._answer(
                    Request(self.command, urllib.parse.unquote(parts.path), query, body, headers)
                )
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815 (http.server's names)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
