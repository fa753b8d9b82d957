"""Stop strings over streamed text: where the completion ends, and how much is safe to emit yet."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["first_stop", "safe_length"]


def first_stop(text: str, stops: Sequence[str]) -> int | None:
    """Index where the earliest stop string starts in `text`, or None."""
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def safe_length(text: str, stops: Sequence[str]) -> int:
    """How much of `text` (with no stop string in it) can be streamed: all of it but the longest
    suffix that could still grow into a stop string, and but a trailing U+FFFD (half a UTF-8
    character the tokenizer has not finished)."""
    end = len(text.rstrip("\ufffd"))
    held = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, end), held, -1):
            if text[end - n : end] == stop[:n]:
                held = n
                break
    return end - held
