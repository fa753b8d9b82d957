"""The one error type for bad configuration: it always names file, line and key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipelines.errors import AipError


def _display(path: Path) -> str:
    """The path relative to the working directory when it is below it (shorter, clickable)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one file."""

    file: Path
    line: int | None  # 1-based; None when the problem is not tied to a line
    key: str  # dotted path such as `training.epochs`, or "" for the whole file
    message: str

    def __str__(self) -> str:
        where = f"{_display(self.file)}:{self.line}" if self.line else _display(self.file)
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


@dataclass
class ConfigError(AipError):
    """Raised with every problem found, so one run shows them all."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
