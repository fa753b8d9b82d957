"""OpenAIGenerator against real HTTP servers on 127.0.0.1 (tests/generate/openai_server.py)."""

from __future__ import annotations

import json
import time

import pytest

from pipelines.generate import (
    GenerationParams,
    GeneratorError,
    GeneratorUnavailable,
    LocalGenerator,
    OpenAIGenerator,
    open_generator,
)
from tests.generate.openai_server import ChatServer, silent_socket
from tests.support.ports import free_port

QUESTION = [{"role": "user", "content": "What is a canary deploy?"}]
PARAMS = GenerationParams(max_tokens=8)


@pytest.mark.slow
def test_completion_over_http_is_the_local_models(local: LocalGenerator) -> None:
    params = GenerationParams(max_tokens=10, stop=("\n\n",))
    with ChatServer(local, api_key="s3cret") as server:
        remote = OpenAIGenerator(server.base_url, "smollm2", api_key="s3cret", timeout_s=30)
        c = remote.complete(QUESTION, params)
    direct = local.complete(QUESTION, params)
    assert (c.text, c.prompt_tokens, c.completion_tokens, c.finish_reason) == (
        direct.text,
        direct.prompt_tokens,
        direct.completion_tokens,
        direct.finish_reason,
    )
    sent = server.requests[0]
    assert sent["model"] == "smollm2" and sent["stop"] == ["\n\n"] and sent["stream"] is False
    assert server.headers[0]["Authorization"] == "Bearer s3cret"


@pytest.mark.slow
def test_stream_over_http_concatenates_to_the_completion_with_usage(local: LocalGenerator) -> None:
    with ChatServer(local) as server:
        events = list(OpenAIGenerator(server.base_url, "smollm2", timeout_s=30).stream(QUESTION, PARAMS))
    *pieces, last = events
    assert last.completion is not None and len(pieces) >= 2
    direct = local.complete(QUESTION, PARAMS)
    assert "".join(e.text for e in pieces) == last.completion.text == direct.text
    assert (last.completion.prompt_tokens, last.completion.completion_tokens) == (
        direct.prompt_tokens,
        direct.completion_tokens,
    )
    assert 0 < last.completion.first_token_seconds < last.completion.seconds
    assert server.requests[0]["stream_options"] == {"include_usage": True}


def test_wrong_api_key_is_a_generator_error_with_the_servers_message() -> None:
    with ChatServer(api_key="right") as server:
        gen = OpenAIGenerator(server.base_url, "m", api_key="wrong", timeout_s=5)
        with pytest.raises(GeneratorError, match="HTTP 401: Incorrect API key provided"):
            gen.complete(QUESTION, PARAMS)


def test_server_error_carries_status_and_message() -> None:
    body = json.dumps({"error": {"message": "CUDA out of memory", "type": "server_error"}}).encode()
    with ChatServer(reply=(500, body, "application/json")) as server:
        gen = OpenAIGenerator(server.base_url, "m", timeout_s=5)
        with pytest.raises(GeneratorError, match=r"/v1/chat/completions -> HTTP 500: CUDA out of memory$"):
            gen.complete(QUESTION, PARAMS)
        with pytest.raises(GeneratorError, match="HTTP 500: CUDA out of memory"):
            list(gen.stream(QUESTION, PARAMS))


@pytest.mark.parametrize(
    "body", [b"<html>gateway</html>", b'{"choices": []}', b'{"choices": [{"message": {"content": 3}}]}']
)
def test_a_body_that_is_not_a_completion_is_a_generator_error(body: bytes) -> None:
    with ChatServer(reply=(200, body, "application/json")) as server:
        gen = OpenAIGenerator(server.base_url, "m", timeout_s=5)
        with pytest.raises(GeneratorError, match="not a chat completion"):
            gen.complete(QUESTION, PARAMS)


def test_a_broken_stream_is_a_generator_error() -> None:
    good = b'data: {"choices": [{"delta": {"content": "Hel"}}]}\n\n'
    for tail, message in [
        (b"data: {not json\n\n", "stream chunk is not JSON"),
        (b'data: {"error": {"message": "engine died"}}\n\n', "error in stream: engine died"),
    ]:
        with ChatServer(reply=(200, good + tail, "text/event-stream")) as server:
            stream = OpenAIGenerator(server.base_url, "m", timeout_s=5).stream(QUESTION, PARAMS)
            assert next(stream).text == "Hel"
            with pytest.raises(GeneratorError, match=message):
                next(stream)


def test_stream_without_usage_counts_content_chunks() -> None:
    sse = b"".join(
        b"data: " + json.dumps({"choices": [{"delta": {"content": t}}]}).encode() + b"\n\n"
        for t in ["a", "b"]
    )
    sse += b'data: {"choices": [{"delta": {}, "finish_reason": "length"}]}\n\ndata: [DONE]\n\n'
    with ChatServer(reply=(200, sse, "text/event-stream")) as server:
        *_, last = OpenAIGenerator(server.base_url, "m", timeout_s=5).stream(QUESTION, PARAMS)
    assert last.completion is not None
    assert (last.completion.text, last.completion.completion_tokens, last.completion.finish_reason) == (
        "ab",
        2,
        "length",
    )


def test_closed_port_is_unavailable_naming_the_url_at_once() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    started = time.perf_counter()
    with pytest.raises(GeneratorUnavailable, match=f"POST {url}/chat/completions is unreachable"):
        OpenAIGenerator(url, "m", timeout_s=5).complete(QUESTION, PARAMS)
    assert time.perf_counter() - started < 2


def test_silent_endpoint_is_unavailable_within_the_timeout() -> None:
    with silent_socket() as url:
        gen = OpenAIGenerator(url, "m", timeout_s=0.5)
        for call in (gen.complete, lambda m, p: list(gen.stream(m, p))):
            started = time.perf_counter()
            with pytest.raises(GeneratorUnavailable, match=f"{url}/chat/completions: no answer within 0.5 s"):
                call(QUESTION, PARAMS)
            assert time.perf_counter() - started < 2


def test_open_generator_with_an_endpoint_sends_the_endpoint_model() -> None:
    gen = open_generator(
        "smollm2-135m-instruct", "http://vllm.internal:8000/v1/", "HuggingFaceTB/SmolLM2", "k"
    )
    assert isinstance(gen, OpenAIGenerator)
    assert (gen.url, gen.model_id) == (
        "http://vllm.internal:8000/v1/chat/completions",
        "HuggingFaceTB/SmolLM2",
    )
    assert gen is open_generator(
        "smollm2-135m-instruct", "http://vllm.internal:8000/v1/", "HuggingFaceTB/SmolLM2", "k"
    )
    assert "sk-xyz" not in repr(gen)
    assert (
        open_generator("smollm2-135m-instruct", "http://x/v1", None, None).model_id == "smollm2-135m-instruct"
    )


def test_endpoint_must_be_an_http_url() -> None:
    with pytest.raises(GeneratorUnavailable, match="expected an http"):
        OpenAIGenerator("vllm:8000/v1", "m")
