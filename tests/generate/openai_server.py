"""Small OpenAI-compatible servers on 127.0.0.1 for the client's tests (no mocks: real sockets).

`ChatServer(generator)` answers `POST /v1/chat/completions` (whole and streamed, usage included) with a
real Generator behind it, so OpenAIGenerator is tested against the real model over real HTTP.
`reply=(status, body, content_type)` makes it answer every request with that fixed reply instead
(a 500, a body that is not a completion, a broken stream); `api_key` makes it require that bearer.
`silent_socket()` is a port that accepts connections and never answers (the timeout case).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipelines.generate import GenerationParams, Generator


class ChatServer:
    def __init__(
        self,
        generator: Generator | None = None,
        *,
        api_key: str | None = None,
        reply: tuple[int, bytes, str] | None = None,
    ) -> None:
        self.generator, self.api_key, self.reply = generator, api_key, reply
        self.requests: list[dict[str, Any]] = []  # every body received, for assertions
        self.headers: list[dict[str, str]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                if server.reply is not None:
                    status, raw, content_type = server.reply
                    return self._send(status, raw, content_type)
                if self.path != "/v1/chat/completions":
                    return self._error(404, f"no route {self.path}")
                if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    return self._error(401, "Incorrect API key provided")
                assert server.generator is not None
                params = GenerationParams(
                    max_tokens=body.get("max_tokens", 16),
                    temperature=body.get("temperature", 1.0),
                    top_p=body.get("top_p", 1.0),
                    stop=tuple([body["stop"]] if isinstance(body.get("stop"), str) else body.get("stop", [])),
                    seed=body.get("seed"),
                )
                if body.get("stream"):
                    return self._stream(server.generator, body, params)
                c = server.generator.complete(body["messages"], params)
                reply = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": c.text},
                            "finish_reason": c.finish_reason,
                        }
                    ],
                    "usage": {
                        "prompt_tokens": c.prompt_tokens,
                        "completion_tokens": c.completion_tokens,
                        "total_tokens": c.prompt_tokens + c.completion_tokens,
                    },
                }
                self._send(200, json.dumps(reply).encode(), "application/json")

            def _stream(self, generator: Generator, body: dict[str, Any], params: GenerationParams) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()  # HTTP/1.0: the stream ends when the connection closes

                def event(payload: object) -> None:
                    self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                    self.wfile.flush()

                base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": body["model"]}
                event({**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]})
                for ev in generator.stream(body["messages"], params):
                    if ev.text:
                        event({**base, "choices": [{"index": 0, "delta": {"content": ev.text}}]})
                    if ev.completion is not None:
                        c = ev.completion
                        event(
                            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": c.finish_reason}]}
                        )
                        if (body.get("stream_options") or {}).get("include_usage"):
                            usage = {
                                "prompt_tokens": c.prompt_tokens,
                                "completion_tokens": c.completion_tokens,
                            }
                            event({**base, "choices": [], "usage": usage})
                self.wfile.write(b"data: [DONE]\n\n")

            def _error(self, status: int, message: str) -> None:
                body = {"error": {"message": message, "type": "invalid_request_error"}}
                self._send(status, json.dumps(body).encode(), "application/json")

            def _send(self, status: int, raw: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler


@contextmanager
def silent_socket() -> Iterator[str]:
    """The base URL of a port that accepts TCP connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
