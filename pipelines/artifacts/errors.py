"""The one exception an artifact raises when it cannot be read or used."""

from __future__ import annotations

from pipelines.errors import AipError

__all__ = ["ArtifactError"]


class ArtifactError(AipError):
    """The folder is not a loadable model artifact, or an input does not fit it."""
