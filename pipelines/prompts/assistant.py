"""Answer a chat request with a retrieval-qa prompt: retrieve, filter, render, generate, cite.

The same object answers `aip serve`'s `/v1/chat/completions`, the evaluation in `aip run` and
`aip prompts answer`, so what is evaluated is exactly what is served. Steps, in order:

1. the question is the last user message (`limits.max_question_chars`, else RequestTooLarge);
2. the retriever returns the top `k` chunks; those under `min_score` are dropped; with none left the
   question is refused as out of scope and the model is not called (a cheap, deterministic guard
   that a 135M model could not provide);
3. lines that try to instruct the model are removed from the chunks (pipelines/prompts/safety.py);
4. the template is rendered with the question and the context; chunks are dropped from the end until
   the prompt fits `limits.max_prompt_tokens` (earlier turns of the chat go first);
5. the generator answers; the files of the chunks in the prompt are the citations, appended as a
   `Sources:` line (or a `sources` list in JSON mode).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipelines.config.prompt_template import render
from pipelines.prompts.errors import PromptError, RequestTooLarge
from pipelines.prompts.safety import strip_instructions

if TYPE_CHECKING:
    from pipelines.config import PromptConfig
    from pipelines.generate import Completion, GenerationParams, Generator
    from pipelines.vectors import Hit, Retriever

REFUSAL = (
    "I can only answer questions about this platform repository, and its documentation has "
    "nothing close enough to that question."
)
ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Answer:
    text: str
    """The answer as sent: the model's words and a `Sources:` line (or the JSON object in JSON mode)."""
    citations: list[str]
    """Repo paths of the documents put into the prompt, best first."""
    refused: str | None
    """None, `out_of_scope` (nothing retrieved above min_score) or `empty_retrieval` (no chunk fits)."""
    completion: Completion | None
    """The generator's result (None when refused: the model was not called)."""
    hits: list[Hit] = field(default_factory=list)
    """The chunks in the prompt, with their scores."""
    retrieval_seconds: float = 0.0
    injection_filtered: int = 0
    """Lines removed from retrieved chunks because they tried to instruct the model."""
    model_text: str = ""
    """The model's words alone (what groundedness is measured on)."""


@dataclass(frozen=True)
class AnswerEvent:
    text: str
    """The next piece of the answer (streaming); empty on the last event."""
    answer: Answer | None = None
    """Set on the last event only: the whole answer, as `Assistant.answer` returns it."""


@dataclass(frozen=True)
class _Prepared:
    messages: list[dict[str, str]]
    params: GenerationParams
    hits: list[Hit]
    retrieval_seconds: float
    filtered: int
    json_mode: bool

    @property
    def citations(self) -> list[str]:
        return list(dict.fromkeys(h.chunk.path for h in self.hits))


class Assistant:
    """One prompt version, ready to answer: its config, templates, retriever and generator."""

    def __init__(
        self,
        config: PromptConfig,
        system_template: str,
        user_template: str,
        *,
        version: str,
        label: str,
        retriever: Retriever,
        generator: Generator,
        backend: str = "faiss",
    ) -> None:
        self.config = config
        self.system_template = system_template
        self.user_template = user_template
        self.name = config.name
        self.version = version
        self.label = label
        self.retriever = retriever
        self.generator = generator
        self.backend = backend

    # ---- public --------------------------------------------------------------------------------
    def answer(
        self, messages: list[dict[str, Any]], *, max_tokens: int | None = None, json: bool = False
    ) -> Answer:
        prepared = self._prepare(messages, max_tokens, json)
        if isinstance(prepared, Answer):
            return prepared
        completion = self.generator.complete(prepared.messages, prepared.params)
        return self._finish(prepared, completion)

    def stream(
        self, messages: list[dict[str, Any]], *, max_tokens: int | None = None, json: bool = False
    ) -> Iterator[AnswerEvent]:
        """The answer piece by piece; the `Sources:` line comes last, then the event with the Answer.
        JSON mode is not streamed piecewise: the object comes whole, as one event."""
        prepared = self._prepare(messages, max_tokens, json)
        if isinstance(prepared, Answer):
            yield AnswerEvent(prepared.text)
            yield AnswerEvent("", prepared)
            return
        completion, emitted, held = None, "", ""  # whitespace is held back: the answer is stripped
        for event in self.generator.stream(prepared.messages, prepared.params):
            if event.completion is not None:
                completion = event.completion
                continue
            if json or not event.text:
                continue
            delta = event.text if emitted else event.text.lstrip()
            body = delta.rstrip()
            if body:
                yield AnswerEvent(held + body)
                emitted += held + body
                held = delta[len(body) :]
            elif emitted:
                held += delta
        if completion is None:  # the generator's contract: its last event carries the completion
            raise PromptError(f"{self.name}: the generator's stream ended without its usage event")
        answer = self._finish(prepared, completion)
        tail = answer.text if json else answer.text[len(emitted) :]
        if tail:
            yield AnswerEvent(tail)
        yield AnswerEvent("", answer)

    def render_messages(self, question: str, context: str) -> list[dict[str, str]]:
        values = {"question": question, "context": context}
        return [
            {
                "role": "system",
                "content": render(self.system_template, values, where=f"{self.name} system").strip(),
            },
            {
                "role": "user",
                "content": render(self.user_template, values, where=f"{self.name} user").strip(),
            },
        ]

    # ---- steps ---------------------------------------------------------------------------------
    def _prepare(
        self, messages: list[dict[str, Any]], max_tokens: int | None, json_mode: bool
    ) -> _Prepared | Answer:
        from pipelines.generate import GenerationParams

        history, question = _split_messages(messages)
        limits, retrieval, generation = self.config.limits, self.config.retrieval, self.config.generator
        if len(question) > limits.max_question_chars:
            raise RequestTooLarge(
                f"{self.name}: the question has {len(question)} characters; this prompt takes at most "
                f"{limits.max_question_chars} (limits.max_question_chars)"
            )
        if max_tokens is not None and max_tokens < 1:
            raise PromptError(f"max_tokens must be at least 1 (got {max_tokens})")
        start = time.perf_counter()
        hits = [h for h in self.retriever.retrieve(question, retrieval.k) if h.score >= retrieval.min_score]
        retrieval_seconds = time.perf_counter() - start
        if not hits:
            return self._refusal("out_of_scope", retrieval_seconds, json_mode)

        chunks, filtered = [], 0
        for hit in hits:
            text, removed = strip_instructions(hit.chunk.text)
            filtered += removed
            if text:
                chunks.append((hit, text))
        chunks = _within_chars(chunks, retrieval.max_context_chars)
        params = GenerationParams(
            max_tokens=min(max_tokens or generation.max_tokens, generation.max_tokens),
            temperature=generation.temperature,
            top_p=generation.top_p,
            stop=tuple(generation.stop),
            frequency_penalty=generation.frequency_penalty,
        )
        while True:
            if not chunks:
                return self._refusal("empty_retrieval", retrieval_seconds, json_mode, filtered)
            context = "\n\n".join(
                f"[{n}] {hit.chunk.path} ({hit.chunk.heading})\n{text}"
                for n, (hit, text) in enumerate(chunks, 1)
            )
            rendered = self.render_messages(question, context)
            full = [rendered[0], *history, rendered[1]]
            while history and self.generator.count_tokens(full) > limits.max_prompt_tokens:
                history = history[2:]  # the oldest exchange goes first
                full = [rendered[0], *history, rendered[1]]
            if self.generator.count_tokens(full) <= limits.max_prompt_tokens:
                break
            if (
                len(chunks) == 1
                and self.generator.count_tokens(self.render_messages(question, "")) > limits.max_prompt_tokens
            ):
                raise RequestTooLarge(
                    f"{self.name}: the question alone exceeds limits.max_prompt_tokens "
                    f"({limits.max_prompt_tokens})"
                )
            chunks = chunks[:-1]
        return _Prepared(full, params, [h for h, _ in chunks], retrieval_seconds, filtered, json_mode)

    def _refusal(self, reason: str, retrieval_seconds: float, json_mode: bool, filtered: int = 0) -> Answer:
        text = json.dumps({"answer": REFUSAL, "sources": [], "refused": reason}) if json_mode else REFUSAL
        return Answer(text, [], reason, None, [], retrieval_seconds, filtered, REFUSAL)

    def _finish(self, prepared: _Prepared, completion: Completion) -> Answer:
        words = completion.text.strip()
        citations = prepared.citations
        if prepared.json_mode:
            text = json.dumps({"answer": words, "sources": citations})
        else:
            text = f"{words}\n\nSources: {', '.join(citations)}"
        return Answer(
            text,
            citations,
            None,
            completion,
            prepared.hits,
            prepared.retrieval_seconds,
            prepared.filtered,
            words,
        )


def _split_messages(messages: list[dict[str, Any]]) -> tuple[list[dict[str, str]], str]:
    """(earlier user/assistant turns, the last user message); system messages from the caller are
    dropped: the prompt's own system message is the one that was evaluated."""
    if not isinstance(messages, list) or not messages:
        raise PromptError("messages: expected a non-empty list of {role, content} objects")
    turns: list[dict[str, str]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise PromptError(f"messages[{i}]: expected an object with role and content")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise PromptError(f"messages[{i}].role: expected one of {', '.join(ROLES)} (got {role!r})")
        if not isinstance(content, str):
            raise PromptError(f"messages[{i}].content: expected a string (got {type(content).__name__})")
        if role != "system":
            turns.append({"role": role, "content": content})
    if not turns or turns[-1]["role"] != "user":
        raise PromptError("messages: the last message must have role 'user' (the question)")
    question = turns[-1]["content"].strip()
    if not question:
        raise PromptError("messages: the last user message is empty")
    return turns[:-1], question


def _within_chars(chunks: list[tuple[Hit, str]], budget: int) -> list[tuple[Hit, str]]:
    """Whole chunks, best first, while they fit `budget` characters (the first always fits, cut)."""
    kept: list[tuple[Hit, str]] = []
    used = 0
    for hit, text in chunks:
        if kept and used + len(text) > budget:
            break
        kept.append((hit, text[: budget - used] if not kept else text))
        used += len(kept[-1][1])
    return kept
