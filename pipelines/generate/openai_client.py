"""A client of any OpenAI-compatible chat endpoint: vLLM on the cluster, a managed API, `aip serve`.

`POST {base_url}/chat/completions` in OpenAI's shape, whole or streamed (server-sent events, `data:
{...}` lines ending with `data: [DONE]`, usage in the last chunk via `stream_options.include_usage`).
On the standard library like `pipelines/http.py`, but with its own transport: a stream is read line by
line as it arrives, and OpenAI's error body nests the message (`{"error": {"message": ...}}`).

Errors: nothing answered (refused, DNS, no answer within `timeout_s`) -> GeneratorUnavailable naming
the URL; an error status or a body that is not a completion -> GeneratorError with the status and the
server's message. `timeout_s` bounds each wait on the socket (connect, first byte, every next chunk).
"""

from __future__ import annotations

import json
import math
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

from pipelines.generate.errors import GeneratorError, GeneratorUnavailable
from pipelines.generate.interface import Completion, GenerationParams, Messages, StreamEvent, check_messages

__all__ = ["OpenAIGenerator", "estimate_tokens"]


def estimate_tokens(messages: Messages) -> int:
    """OpenAI's rule of thumb (4 characters a token) plus 4 tokens of chat framing per message:
    the OpenAI API has no tokenizer endpoint, and this only sizes requests against a budget."""
    return sum(math.ceil(len(m["content"]) / 4) + 4 for m in check_messages(messages)) + 2


class OpenAIGenerator:
    """A chat model behind an OpenAI-compatible endpoint (base_url ends in /v1)."""

    def __init__(
        self, base_url: str, model: str, api_key: str | None = None, timeout_s: float = 60.0
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise GeneratorUnavailable(
                f"generator endpoint {base_url!r}: expected an http(s):// URL ending in /v1"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self._api_key = api_key
        self.url = f"{self.base_url}/chat/completions"

    @property
    def model_id(self) -> str:
        return self.model

    def __repr__(self) -> str:  # never the key
        return f"OpenAIGenerator({self.url!r}, model={self.model!r})"

    def count_tokens(self, messages: Messages) -> int:
        return estimate_tokens(messages)

    def _body(self, messages: Messages, params: GenerationParams, stream: bool) -> bytes:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": check_messages(messages),
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "frequency_penalty": params.frequency_penalty,
            "stream": stream,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        if stream:
            body["stream_options"] = {"include_usage": True}
        return json.dumps(body).encode()

    def _post(self, data: bytes) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        req = urllib.request.Request(self.url, data=data, method="POST", headers=headers)
        try:
            return urllib.request.urlopen(req, timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            raise GeneratorError(
                f"POST {self.url} -> HTTP {exc.code}: {_error_message(exc.read())}"
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise _unavailable(self.url, self.timeout_s, exc) from None

    def complete(self, messages: Messages, params: GenerationParams) -> Completion:
        data = self._body(messages, params, stream=False)
        started = time.perf_counter()
        with self._post(data) as response:
            raw = self._read(response.read)
        seconds = time.perf_counter() - started
        try:
            reply = json.loads(raw)
            choice = reply["choices"][0]
            text = choice["message"]["content"] or ""
            usage = reply.get("usage") or {}
            if not isinstance(text, str):
                raise TypeError("content is not a string")
            return Completion(
                text=text,
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                finish_reason=_finish(choice.get("finish_reason")),
                first_token_seconds=seconds,
                seconds=seconds,
            )
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise GeneratorError(f"POST {self.url}: not a chat completion ({exc}): {raw[:200]!r}") from None

    def stream(self, messages: Messages, params: GenerationParams) -> Iterator[StreamEvent]:
        data = self._body(messages, params, stream=True)
        return self._stream(data)

    def _stream(self, data: bytes) -> Iterator[StreamEvent]:
        started = time.perf_counter()
        first_token_s: float | None = None
        parts: list[str] = []
        chunks = 0
        finish: str | None = None
        usage: dict[str, Any] = {}
        with self._post(data) as response:
            while True:
                line = self._read(response.readline)
                if not line:
                    break  # the server closed the stream without [DONE]: take what came
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue  # blank separators, comments (": ping"), event/id fields
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    break
                chunk = self._chunk(payload)
                if isinstance(chunk.get("usage"), dict):
                    usage = chunk["usage"]
                for choice in chunk.get("choices") or []:
                    delta = (choice.get("delta") or {}).get("content")
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
                    if delta:
                        if first_token_s is None:
                            first_token_s = time.perf_counter() - started
                        chunks += 1
                        parts.append(delta)
                        yield StreamEvent(delta)
        seconds = time.perf_counter() - started
        yield StreamEvent(
            "",
            Completion(
                text="".join(parts),
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                # without usage (a server that ignores include_usage): one token per content chunk
                completion_tokens=int(usage.get("completion_tokens", chunks)),
                finish_reason=_finish(finish),
                first_token_seconds=seconds if first_token_s is None else first_token_s,
                seconds=seconds,
            ),
        )

    def _chunk(self, payload: bytes) -> dict[str, Any]:
        try:
            chunk = json.loads(payload)
        except ValueError:
            raise GeneratorError(f"POST {self.url}: stream chunk is not JSON: {payload[:200]!r}") from None
        if not isinstance(chunk, dict):
            raise GeneratorError(f"POST {self.url}: stream chunk is not an object: {payload[:200]!r}")
        if "error" in chunk:  # vLLM and others report failures mid-stream this way
            raise GeneratorError(f"POST {self.url}: error in stream: {_error_message(payload)}")
        return chunk

    def _read(self, read: Any) -> bytes:
        try:
            return bytes(read())
        except (TimeoutError, ConnectionError, OSError) as exc:
            raise _unavailable(self.url, self.timeout_s, exc) from None


def _finish(reason: Any) -> Any:
    """OpenAI's finish_reason as ours: "length" stays, anything else (stop, eos, None) is "stop"."""
    return "length" if reason == "length" else "stop"


def _unavailable(url: str, timeout_s: float, exc: BaseException) -> GeneratorUnavailable:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return GeneratorUnavailable(f"generator endpoint POST {url}: no answer within {timeout_s:g} s")
    return GeneratorUnavailable(f"generator endpoint POST {url} is unreachable: {reason}")


def _error_message(raw: bytes) -> str:
    """The server's message: OpenAI's {"error": {"message": ...}}, {"error": "..."}, or the body."""
    text = raw.decode("utf-8", "replace")
    try:
        error = json.loads(text).get("error", text)
    except (ValueError, AttributeError):
        return text[:500] or "(empty body)"
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(error)
