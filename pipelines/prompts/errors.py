"""Errors of the prompt engine: each says which prompt, field or variable, and what was expected."""

from __future__ import annotations

from pipelines.errors import AipError


class PromptError(AipError):
    """A request or prompt that cannot be answered as given (bad messages, unknown prompt)."""


class RequestTooLarge(PromptError):
    """A question longer than the prompt's `limits.max_question_chars`."""


class PromptGateFailed(AipError):
    """The prompt's evaluation missed a gate; the message lists every failed gate."""
