"""Talking to GitHub Actions from a step: outputs, job summary, annotations, and the REST API.

Outside Actions (no GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) outputs and summaries go to stdout, so every
helper runs the same on a laptop.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from pipelines.http import request_json

__all__ = ["annotate", "api", "in_actions", "set_output", "write_summary"]

API_TIMEOUT_S = 30  # one REST call; GitHub answers in well under a second


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


def api(method: str, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    """One GitHub REST call (`path` like /repos/o/r/pulls) against $GITHUB_API_URL; its JSON answer.

    Raises HttpError (the status and GitHub's message) or Unreachable, each naming the method and URL."""
    base = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "aip-gitops",
    }
    return request_json(method, base + path, body, token=token, headers=headers, timeout=API_TIMEOUT_S)
