"""`aip ci comment --post`: one comment per pull request, found by its marker and updated in place
(against the recorded GitHub API on 127.0.0.1; GitHub is unreachable here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.gitops.comment import MARKER, post
from tests.support.github_api import RecordedGitHub

SLUG = "acme-ml/ml-platform"


@pytest.fixture
def pull_request_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_REPOSITORY", SLUG)
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")  # pragma: allowlist secret
    monkeypatch.delenv("AIP_HEAD_REPO", raising=False)


@pytest.mark.usefixtures("pull_request_event")
def test_the_comment_is_created_once_then_updated(monkeypatch: pytest.MonkeyPatch) -> None:
    with RecordedGitHub(token="t0ken") as gh:  # pragma: allowlist secret
        comments: list[dict] = [{"id": 1, "body": "a reviewer's comment"}]

        def create(req):
            comments.append({"id": 99, "body": req.body["body"]})
            return 201, comments[-1]

        gh.route("GET", rf"/repos/{SLUG}/issues/7/comments", lambda req: (200, comments))
        gh.route("POST", rf"/repos/{SLUG}/issues/7/comments", create)
        gh.route("PATCH", rf"/repos/{SLUG}/issues/comments/99", {"id": 99})
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        first = post(f"{MARKER}\n| model | accuracy |")
        second = post(f"{MARKER}\n| model | accuracy, again |")

    assert (first, second) == ("created comment 99", "updated comment 99")
    assert gh.calls("PATCH")[0].body == {"body": f"{MARKER}\n| model | accuracy, again |"}
    assert len(gh.calls("POST")) == 1


@pytest.mark.usefixtures("pull_request_event")
def test_an_api_error_leaves_the_table_in_the_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    with RecordedGitHub(token="another") as gh:  # 401 for our token
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        assert post(f"{MARKER}\ntable") == "summary only (API error)"
