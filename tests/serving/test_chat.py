"""`POST /v1/chat/completions` and `GET /v1/models` of `aip serve`, against the real assistant.

The session's trained registry (tests/support/registry.py) holds platform-assistant version 1 with
alias `local` (short answers), evaluated on the platform-docs FAISS index. It is loaded once, through
`pipelines.serving.server.load_prompts` (what `aip serve` runs at startup: load_assistants, warm-up),
with the MiniLM embedder and the local SmolLM2, and served by the real Starlette app on real uvicorn
servers on 127.0.0.1 that share those assistants. The generator-down case loads the same version with
the environment's `generator_endpoint` on a closed port of 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.serving import ServeError, ServeOptions
from pipelines.serving.server import load_prompts
from tests.support.ports import free_port
from tests.support.registry import PROMPT

pytestmark = [pytest.mark.slow, pytest.mark.integration]

QUESTION = "How do I add a new model to the platform?"
TOKEN = "chat-test-token"


# ---- a live server ---------------------------------------------------------------------------------
@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> list[Any]:
        """The `data:` payloads of a text/event-stream, decoded (`[DONE]` kept as the string)."""
        out: list[Any] = []
        for line in self.body.decode().splitlines():
            if line.startswith("data: "):
                data = line.removeprefix("data: ")
                out.append(data if data == "[DONE]" else json.loads(data))
        return out


class Live:
    """The serving app on a real uvicorn server in this process (the assistants are loaded once)."""

    def __init__(self, prompts: Any, auth_token: str | None = None, max_body_bytes: int = 64 * 1024) -> None:
        import uvicorn

        from pipelines.serving._metrics import ServerMetrics
        from pipelines.serving._registry import ModelManager
        from pipelines.serving._rest import build_app
        from pipelines.serving._service import Service

        metrics = ServerMetrics()
        self.service = Service(
            manager=ModelManager(None, metrics),  # type: ignore[arg-type]  # no model: prompts only
            metrics=metrics,
            env="local",
            auth_token=auth_token,
            max_body_bytes=max_body_bytes,
            prompts=prompts,
        )
        self.port = free_port()
        config = uvicorn.Config(
            build_app(self.service), host="127.0.0.1", port=self.port, log_config=None, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)

    def request(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None, token: str | None = None
    ) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method, headers=headers
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                body_out = resp.read()
                return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, body_out,
                             time.perf_counter() - started)  # fmt: skip
        except urllib.error.HTTPError as exc:
            body_out = exc.read()
            return Reply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, body_out,
                         time.perf_counter() - started)  # fmt: skip

    def chat(self, question: str = QUESTION, token: str | None = None, **fields: Any) -> Reply:
        body = {"model": PROMPT, "messages": [{"role": "user", "content": question}], **fields}
        return self.request("POST", "/v1/chat/completions", body, token=token)

    def metrics(self) -> str:
        return self.request("GET", "/metrics").body.decode()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def _error(reply: Reply, status: int) -> dict[str, Any]:
    """The OpenAI-shaped error of a reply, checked."""
    assert reply.status == status, reply.body
    assert reply.headers["content-type"].startswith("application/json")
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return dict(error)


# ---- fixtures --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Questions are sampled here, never into the checkout's .aip/."""
    sink = tmp_path_factory.mktemp("chat-samples")
    mp = pytest.MonkeyPatch()
    mp.setenv("AIP_SAMPLE_SINK", str(sink))
    yield sink
    mp.undo()


@pytest.fixture(scope="session")
def assistant_repo(request: pytest.FixtureRequest) -> Path:
    """Read-only: the trained registry's repo copy (platform-assistant v1 @local, its index)."""
    if reuse := os.environ.get("AIP_TEST_ASSISTANT_REPO"):  # developer shortcut: a repo with the prompt
        return Path(reuse)  # registered @local by an earlier run
    return Path(request.getfixturevalue("trained_registry").checked_root())


@pytest.fixture(scope="session")
def served(assistant_repo: Path) -> Iterator[Any]:
    """The prompts as `aip serve --env local` loads them (warm-up included): once per session."""
    from pipelines.repo.layout import Repo

    prompts = load_prompts(Repo(assistant_repo), "local", ServeOptions(env="local"), lambda _: None)
    assert prompts is not None and PROMPT in prompts.assistants
    yield prompts
    prompts.close()


@pytest.fixture(scope="module")
def live(served: Any, sample_sink: Path) -> Iterator[Live]:
    server = Live(served)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def answered(live: Live) -> Reply:
    """One non-streamed answer, shared by the tests that read it."""
    return live.chat()


# ---- answers ---------------------------------------------------------------------------------------
def test_an_answer_has_openai_shape_citations_and_the_prompt_version(
    live: Live, answered: Reply, assistant_repo: Path
):
    assert answered.status == 200, answered.body
    body = answered.json()
    assert body["object"] == "chat.completion" and body["model"] == PROMPT
    assert body["id"].startswith("chatcmpl-") and isinstance(body["created"], int)
    (choice,) = body["choices"]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"].strip()
    assert choice["finish_reason"] in ("stop", "length")
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    aip = body["aip"]
    assistant = live.service.prompts.assistants[PROMPT]
    assert (aip["prompt"], aip["version"], aip["label"]) == (
        PROMPT,
        str(assistant.version),
        str(assistant.label),
    )
    assert aip["refused"] is None
    assert aip["citations"] and all((assistant_repo / c).is_file() for c in aip["citations"])
    assert answered.headers["x-prompt-version"] == str(assistant.version)
    assert answered.headers["x-prompt-label"] == str(assistant.label)


def test_a_stream_reassembles_to_the_same_answer_with_usage(live: Live, answered: Reply):
    reply = live.chat(stream=True, stream_options={"include_usage": True})
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/event-stream")
    events = reply.events()
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    expected = answered.json()
    assert text == expected["choices"][0]["message"]["content"]  # greedy decoding: the same answer
    last = [c for c in chunks if c["choices"]][-1]
    assert last["choices"][0]["finish_reason"] == expected["choices"][0]["finish_reason"]
    assert last["aip"]["citations"] == expected["aip"]["citations"]
    usage = chunks[-1]
    assert usage["choices"] == [] and usage["usage"] == expected["usage"]


def test_a_json_answer_is_a_json_object_citing_the_same_files(live: Live):
    reply = live.chat(response_format={"type": "json_object"})
    assert reply.status == 200, reply.body
    body = reply.json()
    content = json.loads(body["choices"][0]["message"]["content"])
    assert content["answer"] and content["sources"] == body["aip"]["citations"] != []


def test_an_out_of_scope_question_is_refused_without_generating(live: Live):
    reply = live.chat("What is the capital of France?")
    assert reply.status == 200
    body = reply.json()
    assert body["aip"]["refused"] == "out_of_scope" and body["aip"]["citations"] == []
    assert body["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert 'aip_llm_refusals_total{label="local",prompt="platform-assistant",reason="out_of_scope"' in (
        live.metrics()
    )


def test_models_lists_the_served_prompts(live: Live):
    body = live.request("GET", "/v1/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == [PROMPT]
    assert body["data"][0]["object"] == "model"


def test_the_openapi_document_describes_the_chat_paths(live: Live):
    doc = live.request("GET", "/v1/openapi.json").json()
    chat = doc["paths"]["/v1/chat/completions"]["post"]
    assert chat["requestBody"]["content"]["application/json"]["example"]["model"] == PROMPT
    assert {"400", "401", "404", "413", "503"} <= set(chat["responses"])
    assert "/v1/models" in doc["paths"]


def test_readiness_is_green_on_a_prompts_only_server(live: Live):
    assert live.request("GET", "/readyz").json() == {"status": "ready"}


# ---- bad input -------------------------------------------------------------------------------------
def test_an_unknown_model_is_404_listing_the_served_prompts(live: Live):
    reply = live.request(
        "POST", "/v1/chat/completions", {"model": "nope", "messages": [{"role": "user", "content": "hi"}]}
    )
    error = _error(reply, 404)
    assert error["code"] == "model_not_found" and error["param"] == "model" and PROMPT in error["message"]


@pytest.mark.parametrize(
    ("body", "param", "says"),
    [
        ({"messages": []}, "messages", "non-empty list"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role", "one of system"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            "messages[0].content",
            "text content parts",
        ),
        (
            {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
            "messages[1]",
            "last message",
        ),
        ({"messages": [{"role": "user", "content": "   "}]}, "messages[0]", "last message"),
        ({"max_tokens": 0}, "max_tokens", "positive integer"),
        ({"temperature": 9}, "temperature", "from 0 to 2"),
        ({"tools": [{"type": "function"}]}, "tools", "not supported"),
        ({"stream_options": {"include_usage": True}}, "stream_options", "only allowed with"),
        ({"response_format": {"type": "json_schema"}}, "response_format", "json_object"),
        ({"frobnicate": 1}, "frobnicate", "unknown field"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_requests_are_400_naming_the_field(live: Live, body: dict[str, Any], param: str, says: str):
    full = {"model": PROMPT, "messages": [{"role": "user", "content": QUESTION}], **body}
    error = _error(live.request("POST", "/v1/chat/completions", full), 400)
    assert error["param"] == param and says in error["message"] and error["type"] == "invalid_request_error"


def test_malformed_json_is_400(live: Live):
    error = _error(live.request("POST", "/v1/chat/completions", raw=b'{"model": '), 400)
    assert "malformed JSON" in error["message"]


def test_an_oversize_body_is_413_and_a_question_over_the_prompts_budget_is_413(live: Live):
    body = {"model": PROMPT, "messages": [{"role": "user", "content": "x" * 70_000}]}
    error = _error(live.request("POST", "/v1/chat/completions", body), 413)
    assert "larger than the limit" in error["message"]
    question = "Why does my canary roll back? " * 40  # 1200 characters: under 64 KiB, over the prompt's 1000
    error = _error(live.chat(question), 413)
    assert error["code"] == "request_too_large" and "max_question_chars" in error["message"]
    assert live.chat().status == 200  # and the server keeps answering


# ---- metrics, samples, auth ------------------------------------------------------------------------
def test_metrics_are_exported_after_a_request(live: Live, answered: Reply):
    assert answered.status == 200
    text = live.metrics()
    assistant = live.service.prompts.assistants[PROMPT]
    keys = f'label="{assistant.label}",prompt="{PROMPT}",version="{assistant.version}"'
    assert f'aip_llm_requests_total{{code="200",{keys}}}' in text
    for name in ("aip_llm_request_duration_seconds_count", "aip_llm_time_to_first_token_seconds_count",
                 "aip_llm_output_tokens_per_second_count"):  # fmt: skip
        assert f"{name}{{{keys}}}" in text
    assert f'aip_llm_tokens_total{{kind="completion",{keys}}}' in text
    assert 'aip_retrieval_duration_seconds_count{backend="faiss",' in text


def test_questions_are_sampled_to_the_drift_sink(live: Live, answered: Reply, sample_sink: Path):
    from datetime import UTC, datetime, timedelta

    from pipelines.monitoring.sink import SampleSink

    assert answered.status == 200
    deadline = time.monotonic() + 10  # the sampler flushes every 2 s
    records: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not records:
        now = datetime.now(UTC)
        records = SampleSink(str(sample_sink)).read(
            PROMPT, now - timedelta(hours=1), now + timedelta(hours=1)
        )
        time.sleep(0.25)
    assert records and records[0]["inputs"] == QUESTION and records[0]["prediction"] is None


@pytest.fixture(scope="module")
def secured(served: Any) -> Iterator[Live]:
    server = Live(served, auth_token=TOKEN)
    yield server
    server.stop()


def test_auth_is_enforced_when_configured(secured: Live):
    error = _error(secured.chat(), 401)
    assert error["type"] == "authentication_error"
    assert _error(secured.chat(token="wrong"), 401)
    assert 'aip_serving_auth_failures_total{code="401",route_class="model"} 2.0' in secured.metrics()
    assert secured.chat(token=TOKEN, max_tokens=4).status == 200


# ---- a generator endpoint that is down -------------------------------------------------------------
@pytest.fixture(scope="module")
def generator_down(assistant_repo: Path) -> Iterator[Live]:
    from pipelines.repo.layout import Repo

    repo = Repo(assistant_repo)
    # platform.yaml's local environment as an operator would edit it, on this Repo object only (the
    # registry copy is shared and read-only): the generator is an endpoint where nothing listens.
    settings = repo.platform.environments["local"]
    endpoint = f"http://127.0.0.1:{free_port()}/v1"
    repo.platform.environments["local"] = settings.model_copy(update={"generator_endpoint": endpoint})
    progress: list[str] = []
    prompts = load_prompts(repo, "local", ServeOptions(env="local"), progress.append)
    assert prompts is not None
    assert any("503 until the endpoint is back" in line for line in progress), progress
    server = Live(prompts)
    yield server
    server.stop()
    prompts.close()


def test_a_generator_endpoint_that_is_down_is_503_quickly(generator_down: Live):
    for stream in (False, True):
        reply = generator_down.chat(stream=stream)
        error = _error(reply, 503)
        assert error["code"] == "generator_unavailable" and "127.0.0.1" in error["message"]
        assert reply.seconds < 10
    assert generator_down.request("GET", "/readyz").status == 200  # the server itself is up


# ---- which prompts a server loads --------------------------------------------------------------------
def test_a_model_server_and_no_prompts_load_no_prompt(assistant_repo: Path):
    from pipelines.repo.layout import Repo

    repo = Repo(assistant_repo)
    assert load_prompts(repo, "local", ServeOptions(env="local", no_prompts=True), lambda _: None) is None
    lines: list[str] = []
    assert (
        load_prompts(repo, "local", ServeOptions(env="local", models=["tumor-classifier"]), lines.append)
        is None
    )
    assert "--models" in lines[0]
    with pytest.raises(ServeError, match="--prompts nope: no such prompt"):
        load_prompts(repo, "local", ServeOptions(env="local", prompts=["nope"]), lambda _: None)
