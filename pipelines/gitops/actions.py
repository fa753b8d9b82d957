"""Talking to GitHub Actions from a step: outputs, job summary, annotations (the REST API: pipelines.github).

Outside Actions (no GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) outputs and summaries go to stdout, so every
helper runs the same on a laptop.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["annotate", "in_actions", "set_output", "write_summary"]


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def set_output(name: str, value: str) -> None:
    """`name=value` into $GITHUB_OUTPUT (a heredoc when the value spans lines); stdout elsewhere."""
    target = os.environ.get("GITHUB_OUTPUT")
    text = f"{name}<<AIP_EOF\n{value}\nAIP_EOF\n" if "\n" in value else f"{name}={value}\n"
    if target:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(text)
    else:
        print(f"output {text}", end="")


def write_summary(markdown: str) -> None:
    """Append to the job summary ($GITHUB_STEP_SUMMARY); stdout elsewhere."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(markdown.rstrip() + "\n\n")
    else:
        print(markdown)


def annotate(level: str, message: str, *, file: str | None = None, line: int | None = None) -> None:
    """A workflow annotation (`::notice::`, `::warning::`, `::error::`), readable on a terminal too."""
    where = ""
    if file:
        where = f" file={file}" + (f",line={line}" if line else "")
    text = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    print(f"::{level}{where}::{text}", file=sys.stderr, flush=True)
