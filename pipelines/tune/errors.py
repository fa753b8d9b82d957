"""Errors of `aip tune`: each says what failed and what to do about it."""

from __future__ import annotations

from pipelines.errors import AipError

__all__ = ["StudyStorageUnavailable", "TuneError"]


class TuneError(AipError):
    """A study cannot run or its result cannot be used (no completed trial, mismatched study)."""


class StudyStorageUnavailable(TuneError):
    """The Optuna storage cannot be reached; the message names it with the password masked."""
