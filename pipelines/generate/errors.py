"""The generator's errors: nothing answered, a reply we cannot use, a request we will not send."""

from __future__ import annotations

from pipelines.errors import AipError

__all__ = ["GenerationRequestError", "GeneratorError", "GeneratorUnavailable"]


class GeneratorUnavailable(AipError):
    """No generator to talk to: the endpoint is down or did not answer in time (the message names the
    URL), or the local model could not be loaded (the message names the file)."""


class GeneratorError(AipError):
    """The generator answered, but not with a completion: an error status (with the server's message),
    a malformed body, or a request the model cannot take (prompt longer than its context)."""


class GenerationRequestError(AipError, ValueError):
    """The caller's request is malformed (a message without role/content, max_tokens < 1, ...);
    the message names the field and what is allowed. Nothing was sent."""
