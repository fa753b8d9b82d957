"""OpenAI's chat completions API over the served prompts: `POST /v1/chat/completions`, `GET /v1/models`.

    curl -s localhost:8501/v1/chat/completions -H 'Content-Type: application/json' \\
      -d '{"model": "platform-assistant", "messages": [{"role": "user", "content": "How do I add a model?"}]}'

`model` names a served prompt (every prompt with the environment's alias, `pipelines.prompts`); the last
message is the user's question, earlier ones are the conversation. The answer is OpenAI's
`chat.completion` (or a `text/event-stream` of `chat.completion.chunk` events with `stream: true`)
plus an `aip` object: the prompt, its registry version and alias, the cited files and a refusal reason.
Errors use OpenAI's shape, `{"error": {"message", "type", "param", "code"}}` (docs/serving.md).

The prompt's parameters (temperature, top_p, stop) are part of its evaluated, versioned definition:
a request may send `temperature` and `top_p` (validated) but cannot change them; `max_tokens` can only
lower the prompt's limit. Generation is blocking work: it runs on a small thread pool of its own, so a
slow answer never holds the event loop or the pool model loads use.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.monitoring.hook import SYNTHETIC
from pipelines.serving._http import json_response, read_body
from pipelines.serving._logging import event
from pipelines.serving._service import ServedPrompts
from pipelines.serving.errors import Code, ServingError

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from pipelines.prompts import Answer, Assistant
    from pipelines.serving._service import Service

__all__ = ["ChatError", "chat_routes", "served_prompt"]

CLIENT_CLOSED = 499  # the status a stream the client left is counted with (nginx's)
MAX_INFLIGHT = 32  # chat requests answered or queued at once; beyond: 429 (one generation runs at a time)
_ROLES = ("system", "developer", "user", "assistant")
_MESSAGE_KEYS = {"role", "content", "name"}
# Accepted and validated, but the prompt decides: its parameters are what was evaluated and registered.
_IGNORED = {"temperature", "top_p", "user", "seed", "presence_penalty", "frequency_penalty", "n", "logprobs"}
_FIELDS = {"model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens"}
_FIELDS |= {"response_format"} | _IGNORED
_UNSUPPORTED = ("tools", "tool_choice", "functions", "function_call", "stop", "logit_bias", "top_logprobs")
_TYPES = {  # HTTP status -> OpenAI error type
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


class ChatError(ServingError):
    """A chat request answered with an error: OpenAI's `param` (the field) and `code` besides the status."""

    def __init__(self, code: Code, message: str, param: str | None = None, kind: str | None = None) -> None:
        super().__init__(code, message)
        self.param = param
        self.kind = kind


def _bad(message: str, param: str | None = None, kind: str | None = None) -> ChatError:
    return ChatError(Code.INVALID_ARGUMENT, message, param, kind)


def error_body(exc: ServingError) -> dict[str, Any]:
    status = exc.code.http
    return {
        "error": {
            "message": exc.message,
            "type": _TYPES.get(status, "server_error"),
            "param": exc.param if isinstance(exc, ChatError) else None,
            "code": exc.kind if isinstance(exc, ChatError) and exc.kind else exc.code.name.lower(),
        }
    }


def error_response(exc: ServingError, headers: dict[str, str] | None = None) -> Response:
    response = json_response(error_body(exc), exc.code.http, headers)
    if exc.code is Code.RESOURCE_EXHAUSTED:
        response.headers["Retry-After"] = "1"
    return response


def _from_engine(exc: Exception) -> ChatError | None:
    """The status an engine error (pipelines.prompts, generate, vectors) is answered with."""
    from pipelines.errors import AipError
    from pipelines.generate import GenerationRequestError, GeneratorError, GeneratorUnavailable
    from pipelines.prompts import PromptError, RequestTooLarge
    from pipelines.vectors import VectorStoreUnavailable

    if not isinstance(exc, AipError):
        return None
    message = str(exc)
    if isinstance(exc, RequestTooLarge):
        return ChatError(Code.TOO_LARGE, message, "messages", "request_too_large")
    if isinstance(exc, PromptError | GenerationRequestError):
        return _bad(message, "messages")
    if isinstance(exc, GeneratorUnavailable):
        return ChatError(Code.UNAVAILABLE, message, None, "generator_unavailable")
    if isinstance(exc, VectorStoreUnavailable):
        return ChatError(Code.UNAVAILABLE, message, None, "vector_store_unavailable")
    if isinstance(exc, GeneratorError):
        return ChatError(Code.BAD_GATEWAY, message, None, "generator_error")
    return ChatError(Code.INTERNAL, f"{type(exc).__name__}: {message}", None, "engine_error")


def served_prompt(prompts: ServedPrompts, name: Any) -> Assistant:
    """The assistant a request's `model` names: 400 if it is not a name, 404 if none is served."""
    if not isinstance(name, str) or not name:
        raise _bad("'model' must be the name of a served prompt (a non-empty string)", "model")
    try:
        return prompts.assistants[name]
    except KeyError:
        served = ", ".join(sorted(prompts.assistants)) or "none (started with --no-prompts?)"
        raise ChatError(
            Code.NOT_FOUND,
            f"The model '{name}' does not exist: this server answers for the prompts {served} "
            "(GET /v1/models)",
            "model",
            "model_not_found",
        ) from None


# ---- the request -------------------------------------------------------------------------------
@dataclass
class ChatRequest:
    assistant: Assistant
    messages: list[dict[str, str]]
    stream: bool
    include_usage: bool
    max_tokens: int | None
    json: bool

    @property
    def question(self) -> str:
        return self.messages[-1]["content"]


def _content(value: Any, where: str) -> str:
    """A message's text: a string, or OpenAI's list of content parts with text parts only."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        texts = []
        for j, part in enumerate(value):
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind != "text" or not isinstance(part.get("text"), str):
                raise _bad(
                    f"{where}[{j}]: only text content parts ({{'type': 'text', 'text': ...}}) are "
                    f"supported, got {kind or type(part).__name__!r}",
                    where,
                )
            texts.append(part["text"])
        return "\n".join(texts)
    raise _bad(f"{where} must be a string or a non-empty list of text parts", where)


def parse_messages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise _bad("'messages' must be a non-empty list of {role, content} objects", "messages")
    messages = []
    for i, item in enumerate(value):
        where = f"messages[{i}]"
        if not isinstance(item, Mapping):
            raise _bad(f"{where} must be an object with 'role' and 'content'", where)
        unknown = sorted(set(item) - _MESSAGE_KEYS)
        if unknown:
            raise _bad(
                f"{where}: unknown field(s) {', '.join(unknown)}; expected role, content, name "
                "(tool calls are not supported)",
                where,
            )
        role = item.get("role")
        if role not in _ROLES:
            raise _bad(f"{where}.role must be one of {', '.join(_ROLES)}, got {role!r}", f"{where}.role")
        if "name" in item and not isinstance(item["name"], str):
            raise _bad(f"{where}.name must be a string", f"{where}.name")
        content = _content(item.get("content"), f"{where}.content")
        messages.append({"role": "system" if role == "developer" else str(role), "content": content})
    if messages[-1]["role"] != "user" or not messages[-1]["content"].strip():
        raise _bad(
            "the last message must be the user's question (role 'user', non-empty content)",
            f"messages[{len(messages) - 1}]",
        )
    return messages


def _number(data: Mapping[str, Any], key: str, low: float, high: float) -> None:
    value = data.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _bad(f"'{key}' must be a number from {low:g} to {high:g}, got {value!r}", key)


def _positive(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _bad(f"'{key}' must be a positive integer, got {value!r}", key)
    return value


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _bad(f"'{key}' must be true or false, got {value!r}", key)
    return value


def decode(body: bytes) -> Mapping[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(f"malformed JSON body: {exc}") from None
    if not isinstance(data, Mapping):
        raise _bad("the request body must be a JSON object")
    return data


def parse_request(data: Mapping[str, Any], assistant: Assistant) -> ChatRequest:
    """The request for `assistant` (its `model`), validated field by field; every refusal names the
    field (OpenAI's `param`)."""
    for key in _UNSUPPORTED:
        if key in data:
            raise _bad(f"'{key}' is not supported: the prompt defines the model's parameters and tools", key)
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise _bad(
            f"unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(_FIELDS))}", unknown[0]
        )
    messages = parse_messages(data.get("messages"))
    stream = _flag(data, "stream")
    options = data.get("stream_options")
    include_usage = False
    if options is not None:
        if not stream:
            raise _bad("'stream_options' is only allowed with 'stream': true", "stream_options")
        if not isinstance(options, Mapping) or set(options) - {"include_usage"}:
            raise _bad("'stream_options' must be {\"include_usage\": true|false}", "stream_options")
        include_usage = _flag(options, "include_usage")
    max_tokens = _positive(data, "max_tokens")
    other = _positive(data, "max_completion_tokens")
    if max_tokens is not None and other is not None and other != max_tokens:
        raise _bad("'max_tokens' and 'max_completion_tokens' differ; send one", "max_completion_tokens")
    max_tokens = max_tokens or other
    _number(data, "temperature", 0, 2)
    _number(data, "top_p", 0, 1)
    _number(data, "presence_penalty", -2, 2)
    _number(data, "frequency_penalty", -2, 2)
    n = data.get("n")
    if n is not None and (isinstance(n, bool) or n != 1):
        raise _bad("'n' must be 1: one answer per request", "n")
    if data.get("logprobs") is not None and data["logprobs"] is not False:
        raise _bad("'logprobs' is not supported", "logprobs")
    if "seed" in data and (isinstance(data["seed"], bool) or not isinstance(data["seed"], int | None)):
        raise _bad("'seed' must be an integer", "seed")
    if "user" in data and not isinstance(data["user"], str | None):
        raise _bad("'user' must be a string", "user")
    as_json = False
    fmt = data.get("response_format")
    if fmt is not None:
        kind = fmt.get("type") if isinstance(fmt, Mapping) else None
        if kind not in ("text", "json_object"):
            raise _bad(
                '\'response_format\' must be {"type": "text"} or {"type": "json_object"} '
                f"(json_schema is not supported), got {fmt!r}",
                "response_format",
            )
        as_json = kind == "json_object"
    return ChatRequest(assistant, messages, stream, include_usage, max_tokens, as_json)


# ---- the answer --------------------------------------------------------------------------------
def _usage(answer: Answer) -> dict[str, int]:
    done = answer.completion
    prompt, completion = (done.prompt_tokens, done.completion_tokens) if done is not None else (0, 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _extension(assistant: Assistant, answer: Answer | None) -> dict[str, Any]:
    return {
        "prompt": assistant.name,
        "version": assistant.version,
        "label": assistant.label,
        "citations": list(answer.citations) if answer is not None else [],
        "refused": answer.refused if answer is not None else None,
    }


def _finish(answer: Answer) -> str:
    return answer.completion.finish_reason if answer.completion is not None else "stop"


def completion_body(chat_id: str, created: int, request: ChatRequest, answer: Answer) -> dict[str, Any]:
    return {
        "id": chat_id,
        "object": "chat.completion",
        "created": created,
        "model": request.assistant.name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": _finish(answer),
            }
        ],
        "usage": _usage(answer),
        "aip": _extension(request.assistant, answer),
    }


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


@dataclass
class _Accounting:
    """One chat request's metrics and log fields, recorded once whichever way it ends."""

    service: Service
    prompts: ServedPrompts
    started: float
    request_id: str
    traffic: str
    prompt: str = ""
    version: str = ""
    label: str = ""
    backend: str = ""  # the prompt's vector store: faiss or milvus
    code: int = 500
    counted: bool = False  # holds one of the prompts' in-flight places
    first_token: float | None = None  # seconds from `started`: measured (streams) or derived
    question: str | None = None
    answer: Answer | None = None
    done: bool = False

    def admit(self) -> None:
        prompts = self.prompts
        if prompts.inflight >= MAX_INFLIGHT:
            raise ChatError(
                Code.RESOURCE_EXHAUSTED,
                f"{prompts.inflight} chat requests are being answered or queued (limit {MAX_INFLIGHT}); "
                "retry shortly",
                None,
                "too_many_requests",
            )
        prompts.inflight += 1
        self.counted = True

    def finish(self) -> None:
        if self.done:
            return
        self.done = True
        if self.counted:
            self.prompts.inflight -= 1
        if not self.prompt:  # refused before a prompt was chosen (auth, unknown model, bad JSON)
            return
        metrics, keys = self.service.metrics, (self.prompt, self.version, self.label)
        metrics.llm_request(*keys, self.code, time.perf_counter() - self.started)
        answer = self.answer
        if answer is None:
            return
        metrics.retrieval(*keys, self.backend, answer.retrieval_seconds)
        if answer.refused:
            metrics.llm_refusal(*keys, answer.refused)
        if answer.injection_filtered:  # retrieved lines that tried to instruct the model were removed
            metrics.llm_refusal(*keys, "injection_filtered")
        done = answer.completion
        if done is not None:
            first = self.first_token
            if first is None:  # not streamed: generation ended when the answer came back
                first = max(0.0, time.perf_counter() - self.started - done.seconds) + done.first_token_seconds
            metrics.llm_generation(
                *keys,
                request_first_token_seconds=first,
                generator_first_token_seconds=done.first_token_seconds,
                prompt_tokens=done.prompt_tokens,
                completion_tokens=done.completion_tokens,
                generation_seconds=done.seconds,
            )
        if self.code == 200 and self.question is not None:
            sample_question(self.service, self.prompts, keys, self.question, self.request_id, self.traffic)

    def log_fields(self) -> dict[str, str]:
        return {"prompt": self.prompt, "version": self.version, "label": self.label}


def sample_question(
    service: Service,
    prompts: ServedPrompts,
    keys: tuple[str, str, str],
    question: str,
    request_id: str,
    traffic: str,
) -> None:
    """The question (never the answer) into the drift sink, partition model=<prompt>: query drift.

    Synthetic traffic (`X-AIP-Traffic: synthetic`) is kept out, as for model requests."""
    if traffic.strip().lower() == SYNTHETIC:
        return
    try:
        sampler = prompts.sampler(service.metrics["aip_serving_samples_written_total"])
        if sampler is None:
            return
        prompt, version, label = keys
        sampler.enqueue(
            model=prompt,
            version=version,
            label=label,
            request_id=request_id,
            inputs=[question],
            predictions=[],
        )
    except Exception as exc:  # never fail an answer because of monitoring
        event("question_sample_dropped", logging.WARNING, error=f"{type(exc).__name__}: {exc}")


class _Pump:
    """Runs a blocking event iterator on a thread of its own and hands its events to the event loop.

    One thread per stream, not the answer pool: a suspended stream may hold the local generator's
    lock between events, so its next step must never queue behind answers waiting for that lock."""

    def __init__(self, start: Callable[[], Iterable[Any]]) -> None:
        self._start = start
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._stop = threading.Event()
        self.finished = False
        threading.Thread(target=self._run, name="aip-chat-stream", daemon=True).start()

    def _put(self, kind: str, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is shutting down
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, value))

    def _run(self) -> None:
        events: Any = None
        try:
            events = iter(self._start())
            for item in events:
                if self._stop.is_set():
                    break
                self._put("event", item)
        except Exception as exc:
            self._put("error", exc)
        else:
            self._put("end", None)
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # releases what the generator holds (the generation lock) when it stopped early

    async def next(self) -> Any:
        """The next event, or None at the end; the iterator's exception is raised here."""
        kind, value = await self._queue.get()
        if kind == "error":
            self.finished = True
            raise value
        if kind == "end":
            self.finished = True
            return None
        return value

    def close(self) -> None:
        """Stop after the event being generated (the client left)."""
        self._stop.set()


def chat_routes(service: Service) -> list[Route]:
    from starlette.routing import Route

    served = service.prompts if service.prompts is not None else ServedPrompts({})

    async def chat(request: Request) -> Response:
        info = request.state.log
        info.update(api="rest:chat")
        accounting = _Accounting(
            service, served, time.perf_counter(), info["request_id"], request.headers.get("x-aip-traffic", "")
        )
        headers: dict[str, str] = {}
        streaming = False
        try:
            service.check_auth(request.headers.get("authorization"))
            body = await read_body(request, service.max_body_bytes)
            data = decode(body)
            assistant = served_prompt(served, data.get("model"))
            accounting.prompt = assistant.name
            accounting.version, accounting.label = str(assistant.version), str(assistant.label)
            accounting.backend = assistant.backend
            info.update(accounting.log_fields())
            headers = {"X-Prompt-Version": accounting.version, "X-Prompt-Label": accounting.label}
            parsed = parse_request(data, assistant)
            accounting.admit()
            accounting.question = parsed.question
            if parsed.stream:
                response = await _streamed(served, parsed, accounting, headers)
                streaming = True
                return response
            try:
                answer = await asyncio.get_running_loop().run_in_executor(
                    served.executor,
                    lambda: assistant.answer(parsed.messages, max_tokens=parsed.max_tokens, json=parsed.json),
                )
            except Exception as exc:
                raise _from_engine(exc) or exc from None
            accounting.answer = answer
            accounting.code = 200
            chat_id = f"chatcmpl-{uuid.uuid4().hex}"
            return json_response(completion_body(chat_id, int(time.time()), parsed, answer), headers=headers)
        except ServingError as exc:
            accounting.code = exc.code.http
            if exc.code.http >= 500:
                event("chat_error", logging.WARNING, error=exc.message, **accounting.log_fields())
            return error_response(exc, headers)
        except Exception as exc:
            event(
                "internal_error", logging.ERROR, path=request.url.path, error=f"{type(exc).__name__}: {exc}"
            )
            internal = ChatError(
                Code.INTERNAL, f"internal error: {type(exc).__name__}", None, "internal_error"
            )
            return error_response(internal, headers)
        finally:
            if not streaming:  # a stream accounts for itself when it ends
                accounting.finish()

    async def models(request: Request) -> Response:
        data = [
            {
                "id": name,
                "object": "model",
                "created": served.loaded_at,
                "owned_by": "aip",
                "aip": {"version": str(a.version), "label": str(a.label)},
            }
            for name, a in sorted(served.assistants.items())
        ]
        return json_response({"object": "list", "data": data})

    return [
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
    ]


async def _streamed(
    prompts: ServedPrompts, parsed: ChatRequest, accounting: _Accounting, headers: dict[str, str]
) -> Response:
    """A `text/event-stream` of chunks. The first event is awaited before answering, so an engine
    error that comes before any text (generator down, request too large) is a plain error status."""
    assistant = parsed.assistant
    chat_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    steps = _Pump(lambda: assistant.stream(parsed.messages, max_tokens=parsed.max_tokens, json=parsed.json))
    try:
        first = await steps.next()
    except Exception as exc:
        raise _from_engine(exc) or exc from None

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        body: dict[str, Any] = {
            "id": chat_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": assistant.name,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if parsed.include_usage:
            body["usage"] = None
        body.update(extra)
        return _sse(body)

    async def body() -> AsyncIterator[bytes]:
        answer: Answer | None = None
        try:
            yield chunk({"role": "assistant", "content": ""})
            item = first
            while item is not None:
                if item.text:
                    if accounting.first_token is None:
                        accounting.first_token = time.perf_counter() - accounting.started
                    yield chunk({"content": item.text})
                if item.answer is not None:
                    answer = item.answer
                item = await steps.next()
            if answer is None:
                raise ChatError(Code.INTERNAL, "the answer stream ended without its final event")
            accounting.answer = answer
            yield chunk({}, _finish(answer), aip=_extension(assistant, answer))
            if parsed.include_usage:
                usage = {"choices": [], "usage": _usage(answer)}
                yield _sse({"id": chat_id, "object": "chat.completion.chunk", "created": created,
                            "model": assistant.name, **usage})  # fmt: skip
            yield b"data: [DONE]\n\n"
            accounting.code = 200
        except (asyncio.CancelledError, GeneratorExit):
            accounting.code = CLIENT_CLOSED
            raise
        except Exception as exc:  # the status is sent already: the error is the stream's last event
            mapped = _from_engine(exc) or (
                exc if isinstance(exc, ServingError) else ChatError(Code.INTERNAL, type(exc).__name__)
            )
            accounting.code = mapped.code.http
            event("chat_stream_error", logging.WARNING, error=mapped.message, **accounting.log_fields())
            yield _sse(error_body(mapped))
        finally:
            steps.close()
            accounting.finish()

    def on_close() -> None:  # the client may leave before the body starts: account for it anyway
        steps.close()
        if not accounting.done:
            accounting.code = CLIENT_CLOSED
            accounting.finish()

    response: Response = _event_stream_class()(
        body(),
        on_close,
        media_type="text/event-stream",
        headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
    return response


def _event_stream_class() -> type[Any]:
    from starlette.responses import StreamingResponse

    class EventStream(StreamingResponse):
        def __init__(self, content: Any, on_close: Any, **kwargs: Any) -> None:
            super().__init__(content, **kwargs)
            self.on_close = on_close

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            try:
                await super().__call__(scope, receive, send)
            finally:
                self.on_close()

    return EventStream
