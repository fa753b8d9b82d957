"""The one exception an artifact raises when it cannot be read or used."""

from __future__ import annotations

__all__ = ["ArtifactError"]


class ArtifactError(Exception):
    """The folder is not a loadable model artifact, or an input does not fit it."""
