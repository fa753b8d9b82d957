"""The data layer's errors: each names the dataset and the file involved, so a CI log says what to fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.errors import AipError

if TYPE_CHECKING:
    from pipelines.data.report import ValidationReport


class DataError(AipError):
    """A dataset step failed (missing file, bad ingest output, a DVC command that failed)."""


class DataValidationError(DataError):
    """The dataset broke its Great Expectations suite; `report.summary()` is the one-screen story.

    Raised by `prepare` (the pipeline must stop before training); `validate` itself only returns the
    report, because GX's own run returns a result and the caller decides whether to fail the step.
    """

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.summary())
        self.report = report
