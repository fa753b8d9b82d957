"""`aip ci hotfix`: commits of main carried to one environment, on real git (a bare `origin` in a
temporary folder) and the recorded GitHub API (tests/support/github_api.py; GitHub is unreachable)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.github import GitHub
from pipelines.gitops import GuardError
from pipelines.gitops.guard import check_branch
from pipelines.gitops.hotfix import hotfix
from pipelines.repo.layout import Repo
from tests.support.cli import run_aip
from tests.support.git import commit, git
from tests.support.github_api import RecordedGitHub, Request
from tests.support.repo import make_repo_copy

SLUG = "acme/platform"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo_copy(tmp_path_factory.mktemp("hotfix") / "template")


@pytest.fixture
def fork(template: Path, tmp_path: Path) -> Path:
    """A clone whose origin (bare) has main and env/*; main then gains a feature and a fix."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(template), str(origin))
    for env in ("dev", "staging", "prod"):
        git(origin, "branch", f"env/{env}", "main")
    root = tmp_path / "repo"
    git(tmp_path, "clone", "-q", str(origin), str(root))
    commit(root, "FEATURE.md", "unreleased\n", "an unreleased feature")
    commit(root, "NOTES.md", "the fix\n", "the fix")
    git(root, "push", "-q", "origin", "main")
    return root


def test_carries_one_commit_of_main_to_prod_and_opens_a_labelled_pull_request(fork: Path):
    fix = git(fork, "rev-parse", "--short", "main")
    with RecordedGitHub() as gh:
        gh.route("GET", rf"/repos/{SLUG}/pulls", [])
        gh.route(
            "POST", rf"/repos/{SLUG}/pulls", lambda req: (201, {"number": 21, "html_url": "https://x/21"})
        )
        gh.route("POST", rf"/repos/{SLUG}/issues/21/labels", [{"name": "hotfix"}])
        result = hotfix(Repo(fork), "prod", ["main"], github=GitHub(SLUG, "t", api_url=gh.url))
        sent: Request = gh.calls("POST", rf"/repos/{SLUG}/pulls")[0]
        labels = gh.calls("POST", rf"/repos/{SLUG}/issues/21/labels")[0].body
    assert result.branch == f"hotfix/prod-{fix}" and result.pull_request == "#21 https://x/21"
    assert (sent.body["head"], sent.body["base"]) == (result.branch, "env/prod")
    assert "the fix" in sent.body["title"] and labels == {"labels": ["hotfix"]}
    git(fork, "fetch", "-q", "origin")
    pushed = f"origin/{result.branch}"
    assert git(fork, "show", f"{pushed}:NOTES.md") == "the fix"
    assert "FEATURE.md" not in git(fork, "ls-tree", "--name-only", pushed)  # the rest of main stays
    assert "(cherry picked from commit" in git(fork, "log", "-1", "--format=%B", pushed)
    assert check_branch(fork, pushed, "origin/main").ok
    assert git(fork, "rev-parse", "--abbrev-ref", "HEAD") == "main"  # the checkout was not touched


def test_a_merge_commit_stands_for_its_pull_request_and_present_commits_are_skipped(fork: Path):
    git(fork, "checkout", "-q", "-b", "feature/two", "main")
    commit(fork, "A.md", "a\n", "fix part a")
    commit(fork, "B.md", "b\n", "fix part b")
    git(fork, "checkout", "-q", "main")
    git(fork, "merge", "-q", "--no-ff", "-m", "Merge pull request #5", "feature/two")
    git(fork, "push", "-q", "origin", "main")
    result = hotfix(Repo(fork), "staging", ["main~1", "main"], push=False)  # "the fix", then the merge
    assert [line.split(" ", 1)[1] for line in result.picked] == ["the fix", "fix part a", "fix part b"]
    again = hotfix(Repo(fork), "staging", ["main"], push=False)  # made from env/staging's tip again
    assert again.skipped == [] and len(again.picked) == 2
    git(fork, "push", "-q", "origin", f"{result.branch}:env/staging")  # as if merged (fast-forward)
    with pytest.raises(GuardError, match="already has every commit given"):
        hotfix(Repo(fork), "staging", ["main~1"], push=False)


def test_a_commit_not_on_main_is_refused(fork: Path):
    git(fork, "checkout", "-q", "-b", "feature/x", "main")
    commit(fork, "X.md", "x\n", "not merged yet")
    with pytest.raises(GuardError, match="is not on origin/main: a hotfix carries commits of main only"):
        hotfix(Repo(fork), "prod", ["feature/x"], push=False)


def test_a_conflict_stops_everything_and_pushes_nothing(fork: Path):
    commit(fork, "NOTES.md", "the fix, reworked\n", "rework the fix")  # needs "the fix" first
    git(fork, "push", "-q", "origin", "main")
    with pytest.raises(GuardError, match=r"do not apply cleanly to env/prod \(conflicts in: NOTES.md\)"):
        hotfix(Repo(fork), "prod", ["main"])
    assert "hotfix/" not in git(fork, "ls-remote", "origin")
    assert git(fork, "worktree", "list").count("\n") == 0  # the temporary worktree is gone


def test_cli_without_a_token_pushes_and_says_to_open_the_pull_request(
    fork: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    result = run_aip(fork, "ci", "hotfix", "--env", "env/prod", "main")
    assert result.returncode == 0, result.stderr
    assert "picked  " in result.stdout and "the fix" in result.stdout
    assert "open the PR into env/prod with the label hotfix" in result.stdout
    assert "refs/heads/hotfix/prod-" in git(fork, "ls-remote", "origin")
