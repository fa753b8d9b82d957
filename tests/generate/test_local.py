"""SmolLM2 through transformers' GGUF loader: the real model, loaded once (tests/generate/conftest.py)."""

from __future__ import annotations

import pytest
import torch

from pipelines.generate import Completion, GenerationParams, GeneratorError, LocalGenerator, open_generator

pytestmark = pytest.mark.slow

QUESTION = [
    {"role": "system", "content": "You answer questions about a machine learning platform."},
    {"role": "user", "content": "How do I add a new model to the platform?"},
]


def test_greedy_decoding_is_deterministic(local: LocalGenerator) -> None:
    params = GenerationParams(max_tokens=12)
    first, second = local.complete(QUESTION, params), local.complete(QUESTION, params)
    assert first.text == second.text
    assert first.text.strip()


def test_max_tokens_is_honoured_and_reported_as_length(local: LocalGenerator) -> None:
    c = local.complete(QUESTION, GenerationParams(max_tokens=5))
    assert (c.completion_tokens, c.finish_reason) == (5, "length")


def test_text_ends_before_the_first_stop_string(local: LocalGenerator) -> None:
    full = local.complete(QUESTION, GenerationParams(max_tokens=16)).text
    words = full.split()
    stop = words[len(words) // 2]  # a word from the middle of the greedy answer
    c = local.complete(QUESTION, GenerationParams(max_tokens=16, stop=(stop, "never-generated")))
    assert c.text == full[: full.index(stop)]
    assert c.finish_reason == "stop"
    assert c.completion_tokens < 16


def test_stream_concatenates_to_the_completion(local: LocalGenerator) -> None:
    params = GenerationParams(max_tokens=12, stop=("platform",))
    stream = local.stream(QUESTION, params)
    first = next(stream)
    # between events the caller's thread keeps its grad mode (a server resumes streams on other threads)
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    *pieces, last = [first, *stream]
    assert all(e.completion is None and e.text for e in pieces)
    assert last.text == "" and isinstance(last.completion, Completion)
    whole = local.complete(QUESTION, params)
    assert "".join(e.text for e in pieces) == last.completion.text == whole.text
    assert (last.completion.prompt_tokens, last.completion.completion_tokens) == (
        whole.prompt_tokens,
        whole.completion_tokens,
    )


def test_usage_counts_the_chat_template_and_times_the_first_token(local: LocalGenerator) -> None:
    c = local.complete(QUESTION, GenerationParams(max_tokens=6))
    assert (
        c.prompt_tokens
        == local.count_tokens(QUESTION)
        > len(" ".join(m["content"] for m in QUESTION).split())
    )
    assert 0 < c.first_token_seconds <= c.seconds
    assert c.output_tokens_per_second > 0


def test_sampling_is_reproducible_with_a_seed(local: LocalGenerator) -> None:
    def sample(seed: int) -> str:
        return local.complete(QUESTION, GenerationParams(max_tokens=6, temperature=1.0, seed=seed)).text

    assert sample(7) == sample(7)
    assert len({sample(7), sample(8), sample(9)}) > 1  # three seeds giving one text: not sampling


def test_a_prompt_beyond_the_context_is_refused_before_generating(local: LocalGenerator) -> None:
    with pytest.raises(GeneratorError, match="exceeds the model's context of 8192 tokens"):
        local.stream(QUESTION, GenerationParams(max_tokens=8192))


def test_open_generator_without_endpoint_is_the_cached_local_model(local: LocalGenerator) -> None:
    gen = open_generator("smollm2-135m-instruct", None, None, None)
    assert isinstance(gen, LocalGenerator)
    assert gen is open_generator("smollm2-135m-instruct", None, None, None)
    assert gen._loaded is local._loaded  # one copy of the weights per process
