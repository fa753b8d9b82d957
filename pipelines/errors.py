"""The one error base of the engine, and the one answer to "is this error expected?".

An expected error is a failure the user can act on (bad input, a gate that blocked, a service that
is down): commands print its message and exit non-zero. Anything else is a bug and keeps its
traceback. Every error class of `pipelines` derives from `AipError`; MLflow's own errors (a
registry that refuses a request, a version that does not exist) are expected too.
"""

from __future__ import annotations

__all__ = ["AipError", "is_expected"]


class AipError(Exception):
    """A failure the user can act on; the message says what happened and what to do."""


def is_expected(exc: BaseException) -> bool:
    """True for errors that deserve one clear line instead of a traceback."""
    return isinstance(exc, AipError) or type(exc).__module__.startswith("mlflow.")
