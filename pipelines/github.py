"""The GitHub REST client of the engine, on pipelines/http.py (one error model for every API).

Workflow steps (promotion, retraining and data pull requests, template updates) and `aip doctor` talk
to GitHub through this one class, so the API version header, pagination and the pull-request upsert
live in one place. `$GITHUB_API_URL` (set by Actions, GitHub Enterprise included) picks the server;
tests point it at a recorded API on 127.0.0.1 (tests/support/github_api.py), GitHub being unreachable
from the test machine.
"""

from __future__ import annotations

import base64
import os
import urllib.parse
from dataclasses import dataclass
from typing import Any

from pipelines.http import HttpError, request_json

__all__ = ["GitHub", "PullRequest"]

API_TIMEOUT_S = 30  # one REST call; GitHub answers in well under a second
PAGE_SIZE = 100  # GitHub's maximum per_page
MAX_PAGES = 50  # 5000 items: a bound on a runaway listing, far above any repository's settings


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    created: bool
    """True when this call opened it; False when an open one was updated."""


class GitHub:
    """One repository (`owner/name`) on one GitHub API server, authenticated by a token."""

    def __init__(self, slug: str, token: str, api_url: str | None = None) -> None:
        if slug.count("/") != 1 or not all(slug.split("/")):
            raise ValueError(f"repository must be owner/name, got {slug!r}")
        self.slug = slug
        self.owner = slug.split("/", maxsplit=1)[0]
        self.token = token
        base = api_url or os.environ.get("GITHUB_API_URL") or "https://api.github.com"
        self.api_url = base.rstrip("/")

    @classmethod
    def from_env(cls) -> GitHub | None:
        """The repository of the running workflow ($GITHUB_REPOSITORY, $GITHUB_TOKEN); None without both."""
        token = os.environ.get("GITHUB_TOKEN", "")
        slug = os.environ.get("GITHUB_REPOSITORY", "")
        return cls(slug, token) if token and slug else None

    # -- plain calls: `path` is absolute (/repos/o/r/...) or relative to the repository (pulls?state=open)
    def _url(self, path: str) -> str:
        if not path.startswith("/"):
            path = f"/repos/{self.slug}/{path}"
        return self.api_url + path

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "aip",
        }
        return request_json(
            method, self._url(path), body, token=self.token, headers=headers, timeout=API_TIMEOUT_S
        )

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.call("POST", path, body)

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self.call("PUT", path, body)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.call("PATCH", path, body)

    def delete(self, path: str) -> Any:
        return self.call("DELETE", path)

    def paginate(self, path: str, key: str | None = None) -> list[Any]:
        """Every item of a listing. `key` names the list in wrapped answers ({"total_count", key: [...]})."""
        items: list[Any] = []
        sep = "&" if "?" in path else "?"
        for page in range(1, MAX_PAGES + 1):
            answer = self.get(f"{path}{sep}per_page={PAGE_SIZE}&page={page}")
            batch = answer.get(key, []) if key and isinstance(answer, dict) else answer
            items.extend(batch or [])
            if not batch or len(batch) < PAGE_SIZE:
                break
        return items

    # -- what the workflows do
    def branch_sha(self, branch: str) -> str | None:
        """The tip of `branch`, None when it does not exist."""
        try:
            ref = self.get(f"git/ref/heads/{urllib.parse.quote(branch, safe='/')}")
        except HttpError as exc:
            if exc.status == 404:
                return None
            raise
        return str(ref["object"]["sha"])

    def create_branch(self, name: str, sha: str) -> None:
        self.post("git/refs", {"ref": f"refs/heads/{name}", "sha": sha})

    def put_file(self, branch: str, path: str, content: bytes, message: str) -> str:
        """Create or replace one file on `branch` as one commit; the commit's sha."""
        quoted = urllib.parse.quote(path)
        body: dict[str, Any] = {
            "message": message,
            "content": base64.b64encode(content).decode("ascii"),
            "branch": branch,
        }
        try:
            current = self.get(f"contents/{quoted}?ref={urllib.parse.quote(branch, safe='')}")
            if isinstance(current, dict) and current.get("sha"):
                body["sha"] = current["sha"]  # replacing a file needs the blob it replaces
        except HttpError as exc:
            if exc.status != 404:
                raise
        answer = self.put(f"contents/{quoted}", body)
        return str(answer["commit"]["sha"])

    def open_or_update_pull_request(
        self, head: str, base: str, title: str, body: str, labels: tuple[str, ...] | list[str] = ()
    ) -> PullRequest:
        """The open PR `head` → `base` with this title and body: updated when one exists, else opened."""
        found = self.get(f"pulls?state=open&head={self.owner}:{head}&base={base}")
        if found:
            number = int(found[0]["number"])
            answer = self.patch(f"pulls/{number}", {"title": title, "body": body})
            created = False
        else:
            answer = self.post("pulls", {"head": head, "base": base, "title": title, "body": body})
            number, created = int(answer["number"]), True
        if labels:
            self.post(f"issues/{number}/labels", {"labels": list(labels)})
        return PullRequest(number, str(answer.get("html_url", "")), created)
