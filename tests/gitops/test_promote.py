"""`aip ci promote` against the recorded GitHub API (tests/support/github_api.py; GitHub itself is
unreachable here): the promotion PR is opened, or updated, "nothing to promote" is not an error, a
missing env/<to> is created first, and the body shows the pins of model.yaml (ADR 0022)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.gitops.promote import MARKER, promote
from pipelines.repo.layout import Repo
from tests.support.github_api import RecordedGitHub, Request
from tests.support.registry import TUMOR
from tests.support.repo import edit_yaml, make_repo_copy

SLUG = "acme/platform"
PULLS = rf"/repos/{SLUG}/pulls"
DEV_SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"


@pytest.fixture(scope="module")
def fork(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo_copy(tmp_path_factory.mktemp("promote") / "repo")


@pytest.fixture
def env(fork: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(fork)
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    monkeypatch.setenv("GITHUB_REPOSITORY", SLUG)
    # a registry this runner cannot reach (port 9 refuses): the body says so, the PR still opens
    monkeypatch.setenv("AIP_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    with RecordedGitHub(token="t0ken") as gh:
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        gh.route("GET", rf"/repos/{SLUG}/git/ref/heads/env/(dev|staging|prod)", {"object": {"sha": DEV_SHA}})
        gh.route("GET", PULLS, [])
        gh.route("POST", rf"/repos/{SLUG}/issues/\d+/labels", [])
        yield gh


def opened(number: int) -> Any:
    def answer(req: Request) -> tuple[int, Any]:
        return 201, {"number": number, "html_url": f"https://github.com/{SLUG}/pull/{number}", **req.body}

    return answer


def test_opens_the_promotion_pull_request(fork: Path, env: RecordedGitHub):
    env.route("POST", PULLS, opened(12))
    assert promote(Repo(fork), "dev", "staging") == "opened #12"
    (sent,) = env.calls("POST", PULLS)
    assert (sent.body["head"], sent.body["base"], sent.body["title"]) == (
        "env/dev",
        "env/staging",
        "Promote dev → staging",
    )
    assert sent.body["body"].startswith(MARKER) and "### Model versions" in sent.body["body"]
    assert "Registry of `dev` not reachable from this runner: versions not listed" in sent.body["body"]


def test_updates_the_open_pull_request_instead_of_opening_another(fork: Path, env: RecordedGitHub):
    env.route("GET", PULLS, [{"number": 9, "html_url": f"https://github.com/{SLUG}/pull/9"}])
    env.route("PATCH", rf"{PULLS}/9", {"number": 9, "html_url": f"https://github.com/{SLUG}/pull/9"})
    assert promote(Repo(fork), "staging", "prod") == "updated #9"
    assert not env.calls("POST", PULLS)
    (listing,) = env.calls("GET", PULLS)
    assert listing.query == {"state": "open", "head": "acme:env/staging", "base": "env/prod"}


def test_nothing_to_promote_when_the_next_branch_has_everything(fork: Path, env: RecordedGitHub):
    failed = {
        "message": "Validation Failed",
        "errors": [
            {
                "resource": "PullRequest",
                "code": "custom",
                "message": "No commits between env/staging and env/dev",
            }
        ],
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
    }
    env.route("POST", PULLS, failed, status=422)
    env.route(
        "GET",
        rf"/repos/{SLUG}/compare/env/staging\.\.\.env/dev",
        {"status": "identical", "ahead_by": 0, "behind_by": 0},
    )
    assert (
        promote(Repo(fork), "dev", "staging")
        == "nothing to promote: env/staging already has everything in env/dev"
    )


def test_another_validation_failure_is_not_swallowed(fork: Path, env: RecordedGitHub):
    from pipelines.http import HttpError

    env.route("POST", PULLS, {"message": "Validation Failed", "errors": []}, status=422)
    env.route("GET", rf"/repos/{SLUG}/compare/.*", {"status": "ahead", "ahead_by": 3, "behind_by": 0})
    with pytest.raises(HttpError, match="HTTP 422"):
        promote(Repo(fork), "dev", "staging")


def test_a_missing_next_branch_is_created_at_the_main_commit_the_source_runs(fork: Path, env: RecordedGitHub):
    env.route("GET", rf"/repos/{SLUG}/git/ref/heads/env/staging", {"message": "Not Found"}, status=404)
    env.route(
        "POST",
        rf"/repos/{SLUG}/git/refs",
        lambda req: (201, {"ref": req.body["ref"], "object": {"sha": req.body["sha"]}}),
    )
    env.route("POST", PULLS, opened(3))
    message = promote(Repo(fork), "dev", "staging")
    assert message == f"created env/staging at {DEV_SHA[:12]} (the main commit dev runs); opened #3"
    (created,) = env.calls("POST", rf"/repos/{SLUG}/git/refs")
    assert created.body == {"ref": "refs/heads/env/staging", "sha": DEV_SHA}  # no origin here: env/dev's tip
    paths = [r.path for r in env.requests if r.method == "POST"]
    assert paths.index(f"/repos/{SLUG}/git/refs") < paths.index(f"/repos/{SLUG}/pulls")


def test_the_body_shows_what_model_yaml_pins_in_the_target(fork: Path, env: RecordedGitHub, tmp_path: Path):
    root = make_repo_copy(tmp_path / "pinned")
    edit_yaml(
        root / "models" / TUMOR / "model.yaml",
        lambda d: d["environments"].update({"prod": {"hold": True, "reason": "waiting for the audit"}}),
    )
    env.route("POST", PULLS, opened(4))
    promote(Repo(root), "staging", "prod")
    body = env.calls("POST", PULLS)[0].body["body"]
    assert f"**{TUMOR}** stays where it is (hold) in prod: waiting for the audit" in body


def test_without_a_token_nothing_is_opened(fork: Path, env: RecordedGitHub, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    assert promote(Repo(fork), "dev", "staging") == "not opened"
    assert env.requests == []
