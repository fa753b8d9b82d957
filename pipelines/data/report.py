"""The outcome of validating a dataset: what failed, why it matters, and a one-screen summary.

GX's own result object is large and version-specific; this is the small, stable part the pipeline needs,
written to `data/validation.json` (a DVC metric) and read back by `prepare` when the stage fails.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MAX_EXAMPLES = 3  # unexpected values shown per failure: enough to recognise the problem
MAX_VALUE_CHARS = 60  # one long utterance must not push the summary off the screen
_NOT_EXPECTATIONS = {"column", "batch_id", "result_format", "include_config", "catch_exceptions", "meta"}


@dataclass(frozen=True)
class FailedExpectation:
    """One expectation the data broke."""

    expectation: str
    """GX expectation type, e.g. `expect_column_values_to_be_unique`."""
    column: str | None
    """The column it checks; None for table-level expectations."""
    expected: dict[str, Any]
    """Its kwargs other than the column: what the data should have been."""
    guards: str
    """The comment above it in expectations.yaml: the failure it guards against."""
    line: int | None = None
    """Its line in expectations.yaml (1-based)."""
    observed: Any = None
    """GX's observed value (row count, mean, ...), when the expectation reports one."""
    unexpected_count: int | None = None
    """How many rows broke a column-map expectation."""
    unexpected_examples: list[Any] = field(default_factory=list)
    """A few of the offending values."""
    error: str | None = None
    """GX raised instead of evaluating (e.g. the column does not exist)."""


@dataclass(frozen=True)
class ValidationReport:
    """A dataset's validation against its suite; `success` is False when anything failed."""

    dataset: str
    success: bool
    evaluated: int
    failed: list[FailedExpectation]
    suite: str = "expectations.yaml"
    """The suite file, relative to the repo root, for the summary's first line."""
    rows: int | None = None
    """Rows validated."""

    # ---- the one screen the pipeline prints before it stops ------------------------------------
    def summary(self) -> str:
        """Dataset, N of M failed, and per failure: type, column, expected, observed, and why it matters."""
        if self.success:
            return (
                f"data validation passed: {self.dataset}: {self.evaluated} of {self.evaluated} "
                f"expectations met ({self.suite}, {self.rows} rows)"
            )
        lines = [
            f"data validation FAILED: {self.dataset}: {len(self.failed)} of {self.evaluated} "
            f"expectations failed ({self.suite}, {self.rows} rows)"
        ]
        for item in self.failed:
            where = f"{self.suite.rsplit('/', 1)[-1]}:{item.line}" if item.line else self.suite
            column = f"  column '{item.column}'" if item.column is not None else ""
            lines.append("")
            lines.append(f"  FAIL {item.expectation}{column}  ({where})")
            lines.append(f"       guards:   {item.guards or '(no comment in the suite)'}")
            lines.append(f"       expected: {_format_expected(item.expectation, item.expected)}")
            lines.append(f"       observed: {_format_observed(item, self.rows)}")
        lines.append("")
        lines.append(
            "Fix the source or ingest.py, or change the suite if the data is right; nothing was trained."
        )
        return "\n".join(lines)

    # ---- data/validation.json ------------------------------------------------------------------
    def to_json(self) -> str:
        """Deterministic JSON (sorted keys, no timestamps): DVC records its md5 in dvc.lock."""
        data = asdict(self)
        data["failed_count"] = len(self.failed)  # a number, so `dvc metrics show` has something to show
        return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8", newline="\n")
        return path

    @classmethod
    def from_json(cls, text: str) -> ValidationReport:
        data = json.loads(text)
        data.pop("failed_count", None)
        failed = [FailedExpectation(**item) for item in data.pop("failed")]
        return cls(failed=failed, **data)

    @classmethod
    def read(cls, path: Path) -> ValidationReport:
        return cls.from_json(path.read_text(encoding="utf-8"))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def _format_expected(expectation: str, expected: dict[str, Any]) -> str:
    """`expect_column_values_to_not_be_null` -> "values to not be null", plus its arguments."""
    words = expectation.removeprefix("expect_").removeprefix("column_").replace("_", " ")
    shown = {k: v for k, v in expected.items() if k not in _NOT_EXPECTATIONS}
    arguments = ", ".join(f"{key}={_short(value)}" for key, value in sorted(shown.items()))
    return f"{words} ({arguments})" if arguments else words


def _format_observed(item: FailedExpectation, rows: int | None) -> str:
    if item.error:
        return f"error: {item.error}"
    parts = []
    if item.observed is not None:
        parts.append(_short(item.observed))
    if item.unexpected_count is not None:
        of = f" of {rows} rows" if rows is not None else ""
        parts.append(f"{item.unexpected_count} unexpected{of}")
    if item.unexpected_examples:
        examples = ", ".join(_short(v) for v in item.unexpected_examples[:MAX_EXAMPLES])
        parts.append(f"e.g. {examples}")
    return "; ".join(parts) or "(no observed value reported)"
