"""Talking to GitHub Actions from a step: outputs, job summary, annotations, and the REST API.

Outside Actions (no GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) outputs and summaries go to stdout, so every
helper runs the same on a laptop.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from pipelines.errors import AipError

__all__ = ["ApiError", "annotate", "api", "in_actions", "set_output", "write_summary"]

API_TIMEOUT_S = 30  # one REST call; GitHub answers in well under a second


class ApiError(AipError):
    """A GitHub API call failed; the message names the call and the answer."""


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
    """One GitHub REST call (`path` like /repos/o/r/pulls); raises ApiError with the status and message."""
    base = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "Content-Type": "application/json",
            "User-Agent": "aip-gitops",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=API_TIMEOUT_S) as response:
            payload = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:500]
        raise ApiError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
    except urllib.error.URLError as exc:
        raise ApiError(f"{method} {path}: {exc.reason} (GITHUB_API_URL={base})") from None
    return json.loads(payload) if payload else None
