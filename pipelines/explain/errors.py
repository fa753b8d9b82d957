"""The one error of this package: a model the explainers cannot handle."""

from __future__ import annotations

from pipelines.errors import AipError

__all__ = ["Unexplainable"]


class Unexplainable(AipError):
    """The model cannot be explained (unknown kind, no tokenizer, no feature names); says which and why.

    The evaluation report turns it into a note; the server's `:explain` answers it with a 4xx."""
