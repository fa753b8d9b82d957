"""What every generator takes and returns: sampling parameters, a completion, stream events.

Messages are OpenAI's chat shape, `[{"role": "system"|"user"|"assistant", "content": str}]`; a local
model applies its own chat template to them, a remote endpoint receives them as they are.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from pipelines.generate.errors import GenerationRequestError

__all__ = [
    "ROLES",
    "Completion",
    "FinishReason",
    "GenerationParams",
    "Generator",
    "Messages",
    "StreamEvent",
    "check_messages",
]

FinishReason = Literal["stop", "length"]
Messages = Sequence[dict[str, str]]
ROLES = ("system", "user", "assistant")
MAX_STOP = 4  # OpenAI's limit on stop strings


@dataclass(frozen=True)
class GenerationParams:
    """Sampling parameters, with OpenAI's names and meanings.

    max_tokens: most tokens generated (the completion may be shorter: end of turn or a stop string).
    temperature: 0 = greedy decoding (deterministic); > 0 samples from softmax(logits / temperature).
    top_p: nucleus sampling, the smallest set of tokens whose probability reaches top_p (1 = all).
    stop: strings that end the completion; the text is cut before the first one and excludes it.
    seed: seeds sampling (temperature > 0), so a seeded request is reproducible; None = fresh entropy.
    frequency_penalty: subtracted from a token's logit once per time it was already generated
        (-2..2): small greedy models loop ("the canary model was a test of the canary model ...")
        without it.
    """

    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = 0
    frequency_penalty: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise GenerationRequestError(f"max_tokens: expected an integer >= 1, got {self.max_tokens!r}")
        if not (math.isfinite(self.temperature) and 0.0 <= self.temperature <= 2.0):
            raise GenerationRequestError(
                f"temperature: expected 0 <= temperature <= 2, got {self.temperature!r}"
            )
        if not (math.isfinite(self.frequency_penalty) and -2.0 <= self.frequency_penalty <= 2.0):
            raise GenerationRequestError(
                f"frequency_penalty: expected -2 <= frequency_penalty <= 2, got {self.frequency_penalty!r}"
            )
        if not (math.isfinite(self.top_p) and 0.0 < self.top_p <= 1.0):
            raise GenerationRequestError(f"top_p: expected 0 < top_p <= 1, got {self.top_p!r}")
        if not isinstance(self.stop, tuple) or not all(isinstance(s, str) and s for s in self.stop):
            raise GenerationRequestError(f"stop: expected a tuple of non-empty strings, got {self.stop!r}")
        if len(self.stop) > MAX_STOP:
            raise GenerationRequestError(f"stop: expected at most {MAX_STOP} strings, got {len(self.stop)}")


@dataclass(frozen=True)
class Completion:
    """One finished generation.

    prompt_tokens / completion_tokens: as the generator counted them (the local model counts every
    token it produced, the end-of-turn token included; an endpoint reports its own `usage`).
    finish_reason: "length" when max_tokens ran out, "stop" otherwise (end of turn or a stop string).
    first_token_seconds: from the request (waiting for the local model's lock included) to the first
    generated token; for a non-streamed remote call, the whole call (the first token arrives with the
    last). seconds: the whole generation, from the request.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    first_token_seconds: float
    seconds: float

    @property
    def output_tokens_per_second(self) -> float:
        """Decoding speed after the first token (the prefill is in first_token_seconds); 0 if unknown."""
        decoding = self.seconds - self.first_token_seconds
        if self.completion_tokens <= 1 or decoding <= 0:
            return 0.0
        return (self.completion_tokens - 1) / decoding


@dataclass(frozen=True)
class StreamEvent:
    """A piece of streamed text; the last event has text "" and carries the Completion (usage)."""

    text: str
    completion: Completion | None = None


@runtime_checkable
class Generator(Protocol):
    """A chat model: the local SmolLM2 (LocalGenerator) or any OpenAI-compatible endpoint."""

    @property
    def model_id(self) -> str: ...

    def count_tokens(self, messages: Messages) -> int:
        """Prompt tokens these messages take (exact for the local model, an estimate for an endpoint)."""
        ...

    def complete(self, messages: Messages, params: GenerationParams) -> Completion: ...

    def stream(self, messages: Messages, params: GenerationParams) -> Iterator[StreamEvent]: ...


def check_messages(messages: Messages) -> list[dict[str, str]]:
    """The messages as plain dicts, or GenerationRequestError naming the first bad one."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence) or not messages:
        raise GenerationRequestError("messages: expected a non-empty list of {role, content} objects")
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise GenerationRequestError(f"messages[{i}]: expected an object with role and content")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise GenerationRequestError(
                f"messages[{i}].role: expected one of {', '.join(ROLES)}, got {role!r}"
            )
        if not isinstance(content, str):
            raise GenerationRequestError(
                f"messages[{i}].content: expected a string, got {type(content).__name__}"
            )
        out.append({"role": role, "content": content})
    return out
