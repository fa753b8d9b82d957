"""pipelines/github.py against the recorded GitHub API (tests/support/github_api.py) on 127.0.0.1."""

from __future__ import annotations

import base64

import pytest

from pipelines.github import GitHub
from pipelines.http import HttpError, Unreachable
from tests.support.github_api import RecordedGitHub
from tests.support.ports import free_port

SLUG = "acme-ml/ml-platform"


def test_pull_request_is_opened_then_updated_with_labels() -> None:
    with RecordedGitHub(token="t0ken") as gh:
        opened: list[dict] = []

        def listing(_req):  # the open PRs: none until one was created
            return 200, [{"number": 12, "html_url": "https://github.com/x/pull/12"}] if opened else []

        def create(req):
            opened.append(req.body)
            return 201, {"number": 12, "html_url": "https://github.com/x/pull/12"}

        gh.route("GET", rf"/repos/{SLUG}/pulls", listing)
        gh.route("POST", rf"/repos/{SLUG}/pulls", create)
        gh.route(
            "PATCH", rf"/repos/{SLUG}/pulls/12", {"number": 12, "html_url": "https://github.com/x/pull/12"}
        )
        gh.route("POST", rf"/repos/{SLUG}/issues/12/labels", [{"name": "retraining"}])
        client = GitHub(SLUG, "t0ken", api_url=gh.url)

        first = client.open_or_update_pull_request(
            "data/x", "main", "Refresh x", "body 1", labels=["retraining"]
        )
        second = client.open_or_update_pull_request("data/x", "main", "Refresh x", "body 2")

    assert (first.number, first.created, second.created) == (12, True, False)
    assert opened == [{"head": "data/x", "base": "main", "title": "Refresh x", "body": "body 1"}]
    listing_query = gh.calls("GET", rf"/repos/{SLUG}/pulls")[0].query
    assert listing_query == {"state": "open", "head": "acme-ml:data/x", "base": "main"}
    assert gh.calls("PATCH")[0].body == {"title": "Refresh x", "body": "body 2"}
    assert gh.calls("POST", r".*/labels")[0].body == {"labels": ["retraining"]}
    assert all(r.headers["x-github-api-version"] == "2022-11-28" for r in gh.requests)


def test_put_file_replaces_with_the_blob_sha_and_branch_sha_of_a_missing_branch_is_none() -> None:
    with RecordedGitHub() as gh:
        gh.route("GET", rf"/repos/{SLUG}/contents/datasets/x/dvc.lock", {"sha": "blob1", "path": "dvc.lock"})
        gh.route("PUT", rf"/repos/{SLUG}/contents/datasets/x/dvc.lock", {"commit": {"sha": "c0ffee"}}, 200)
        gh.route("GET", rf"/repos/{SLUG}/git/ref/heads/main", {"object": {"sha": "abc123", "type": "commit"}})
        client = GitHub(SLUG, "t", api_url=gh.url)
        sha = client.put_file("data/x", "datasets/x/dvc.lock", b"schema: '2.0'\n", "Refresh x")
        assert client.branch_sha("main") == "abc123"
        assert client.branch_sha("env/prod") is None  # unrouted: 404 as GitHub answers

    assert sha == "c0ffee"
    put = gh.calls("PUT")[0].body
    assert put["sha"] == "blob1" and put["branch"] == "data/x"
    assert base64.b64decode(put["content"]) == b"schema: '2.0'\n"


def test_paginate_follows_pages_until_a_short_one() -> None:
    with RecordedGitHub() as gh:
        gh.route(
            "GET",
            rf"/repos/{SLUG}/actions/variables",
            lambda req: (
                200,
                {
                    "total_count": 130,
                    "variables": [{"name": f"V{req.query['page']}"}]
                    * (100 if req.query["page"] == "1" else 30),
                },
            ),
        )
        names = GitHub(SLUG, "t", api_url=gh.url).paginate("actions/variables", key="variables")
    assert len(names) == 130 and [r.query["page"] for r in gh.requests] == ["1", "2"]


def test_errors_name_the_call() -> None:
    with RecordedGitHub(token="right") as gh, pytest.raises(HttpError, match="Bad credentials") as caught:
        GitHub(SLUG, "wrong", api_url=gh.url).get("environments")
    assert caught.value.status == 401 and f"/repos/{SLUG}/environments" in str(caught.value)
    with pytest.raises(Unreachable, match=f"GET http://127.0.0.1:{(port := free_port())}"):
        GitHub(SLUG, "t", api_url=f"http://127.0.0.1:{port}").get("environments")
    with pytest.raises(ValueError, match="owner/name"):
        GitHub("no-slash", "t")
