"""The environment-branch guard, on real git repositories: promotion order and no drifting branches."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.gitops import GuardError
from pipelines.gitops.guard import allowed_sources, check_branch, check_pull_request
from tests.support.cli import run_aip
from tests.support.git import commit, git
from tests.support.repo import make_repo_copy

ORDER = ["dev", "staging", "prod"]


def test_promotion_sources_follow_platform_order():
    assert allowed_sources(ORDER, "env/dev") == ["main"]
    assert allowed_sources(ORDER, "env/staging") == ["main", "env/dev"]
    assert allowed_sources(ORDER, "env/prod") == ["main", "env/staging"]


def test_pr_into_prod_from_a_feature_branch_is_refused_with_what_and_expected():
    with pytest.raises(GuardError) as err:
        check_pull_request(ORDER, "env/prod", "feature/faster-model")
    message = str(err.value)
    assert "into env/prod comes from feature/faster-model" in message
    assert "expected main or env/staging" in message
    assert "main → dev → staging → prod" in message


def test_pr_skipping_an_environment_is_refused():
    with pytest.raises(GuardError, match="expected main or env/staging"):
        check_pull_request(ORDER, "env/prod", "env/dev")


def test_pr_from_the_previous_environment_or_main_passes():
    assert check_pull_request(ORDER, "env/staging", "env/dev").ok
    assert check_pull_request(ORDER, "env/dev", "main").ok
    assert check_pull_request(ORDER, "main", "feature/x").ok  # not an environment branch


def test_pr_from_a_fork_is_refused_even_from_its_main():
    with pytest.raises(GuardError, match="from the fork mallory/ai-platform:main"):
        check_pull_request(
            ORDER, "env/dev", "main", head_repo="mallory/ai-platform", repo="acme-ml/ml-platform"
        )


def test_pr_into_an_unknown_environment_branch_is_refused():
    with pytest.raises(GuardError, match="env/qa is not an environment branch"):
        check_pull_request(ORDER, "env/qa", "main")


def test_environment_branch_made_from_main_passes(env_repo: Path):
    verdict = check_branch(env_repo, "env/prod", "main")
    assert verdict.ok
    assert "no commit that main lacks" in verdict.message


def test_merge_commits_from_main_keep_the_branch_clean(env_repo: Path):
    commit(env_repo, "model.txt", "v2\n", "better model")
    git(env_repo, "checkout", "-q", "env/dev")
    git(env_repo, "merge", "-q", "--no-ff", "-m", "Merge main into env/dev", "main")
    assert check_branch(env_repo, "env/dev", "main").ok


def test_environment_only_commit_is_refused_and_named(env_repo: Path):
    git(env_repo, "checkout", "-q", "env/staging")
    sha = commit(env_repo, "platform.txt", "hotfix\n", "hotfix only on staging")
    with pytest.raises(GuardError) as err:
        check_branch(env_repo, "env/staging", "main")
    message = str(err.value)
    assert "env/staging has 1 commit(s) that main lacks" in message
    assert f"{sha} hotfix only on staging" in message
    assert "change config on main" in message


def test_merge_that_changed_files_on_the_environment_branch_is_refused(env_repo: Path):
    commit(env_repo, "model.txt", "v2\n", "better model")
    git(env_repo, "checkout", "-q", "env/dev")
    git(env_repo, "merge", "-q", "--no-ff", "--no-commit", "main")
    (env_repo / "model.txt").write_text("edited during the merge\n")
    git(env_repo, "add", "model.txt")
    git(env_repo, "commit", "-qm", "Merge main into env/dev (resolved by hand)")
    with pytest.raises(GuardError, match="env/dev's content differs from every commit of main"):
        check_branch(env_repo, "env/dev", "main")


def test_unknown_ref_is_an_error_that_names_it(env_repo: Path):
    with pytest.raises(GuardError, match="env/nowhere"):
        check_branch(env_repo, "env/nowhere", "main")


def test_cli_refuses_feature_branch_into_prod_with_exit_1(tmp_path: Path):
    root = make_repo_copy(tmp_path / "repo")
    result = run_aip(root, "guard", "pr", "--base", "env/prod", "--head", "feature/x")
    assert result.returncode == 1
    assert "pull request into env/prod comes from feature/x; expected main or env/staging" in result.stderr


def test_cli_checks_the_head_commit_of_a_promotion(tmp_path: Path):
    root = make_repo_copy(tmp_path / "repo")
    git(root, "branch", "env/dev")
    ok = run_aip(
        root,
        "guard",
        "pr",
        "--base",
        "env/staging",
        "--head",
        "env/dev",
        "--head-sha",
        "env/dev",
        "--main",
        "main",
    )
    assert ok.returncode == 0, ok.stderr
    assert "follows the promotion order" in ok.stdout and "no commit that main lacks" in ok.stdout
    git(root, "checkout", "-q", "env/dev")
    (root / "platform.yaml").write_text((root / "platform.yaml").read_text() + "# dev only\n")
    git(root, "commit", "-qam", "dev-only")
    bad = run_aip(root, "guard", "branch", "env/dev", "--main", "main")
    assert bad.returncode == 1
    assert "env/dev has 1 commit(s) that main lacks" in bad.stderr and "dev-only" in bad.stderr


# ---- skipping stages and hotfixes (ADR 0022) --------------------------------------------------------
def test_main_into_prod_skips_staging_and_needs_the_hotfix_label():
    with pytest.raises(GuardError) as err:
        check_pull_request(ORDER, "env/prod", "main")
    assert "it skips dev, staging, which needs the label 'hotfix'" in str(err.value)
    assert check_pull_request(ORDER, "env/prod", "main", labels=["hotfix"]).ok
    assert check_pull_request(ORDER, "env/prod", "env/staging").ok  # the regular step needs no label


def test_a_hotfix_branch_needs_the_label_and_the_environment_it_names():
    with pytest.raises(GuardError, match="it is a hotfix branch, which needs the label 'hotfix'"):
        check_pull_request(ORDER, "env/prod", "hotfix/prod-1a2b3c4")
    assert check_pull_request(ORDER, "env/prod", "hotfix/prod-1a2b3c4", labels=("bug", "hotfix")).ok
    with pytest.raises(GuardError, match="expected main or env/staging"):  # a staging hotfix into prod
        check_pull_request(ORDER, "env/prod", "hotfix/staging-1a2b3c4", labels=["hotfix"])


def hotfixed(env_repo: Path) -> tuple[str, str]:
    """main gains a feature and then a fix; the fix alone is cherry-picked (-x) onto env/prod's copy
    `hotfix/prod-<fix>`. Returns (the fix on main, the hotfix branch)."""
    commit(env_repo, "feature.txt", "new\n", "unreleased feature")
    fix = commit(env_repo, "model.txt", "v1 fixed\n", "fix the model")
    branch = f"hotfix/prod-{fix}"
    git(env_repo, "checkout", "-q", "-b", branch, "env/prod")
    git(env_repo, "cherry-pick", "-x", fix)
    git(env_repo, "checkout", "-q", "main")
    return fix, branch


def test_a_cherry_picked_fix_of_main_passes_although_no_commit_of_main_has_its_files(env_repo: Path):
    _, branch = hotfixed(env_repo)
    verdict = check_branch(env_repo, branch, "main")
    assert "1 hotfix commit(s) patch-equivalent to main" in verdict.message
    assert "patches and automatic merges" in verdict.message  # not a tree of main: the exception
    git(env_repo, "checkout", "-q", "env/prod")  # the PR merged with a merge commit
    git(env_repo, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)
    assert check_branch(env_repo, "env/prod", "main").ok
    assert not (env_repo / "feature.txt").exists()  # the unreleased feature stayed on main
    # the next regular promotion brings main's content; the hotfix merges away cleanly
    git(env_repo, "checkout", "-q", "env/staging")
    git(env_repo, "merge", "-q", "--no-ff", "-m", "promote main", "main")
    git(env_repo, "checkout", "-q", "env/prod")
    git(env_repo, "merge", "-q", "--no-ff", "-m", "promote staging", "env/staging")
    assert "its content is main@" in check_branch(env_repo, "env/prod", "main").message


def test_a_hotfix_edited_beyond_the_commit_of_main_is_refused(env_repo: Path):
    _, branch = hotfixed(env_repo)
    git(env_repo, "checkout", "-q", branch)
    (env_repo / "model.txt").write_text("v1 fixed differently\n")
    git(env_repo, "commit", "-q", "--amend", "-am", "fix the model (edited on the way)")
    with pytest.raises(GuardError) as err:
        check_branch(env_repo, branch, "main")
    assert f"{branch} has 1 commit(s) that main lacks" in str(err.value)
    assert "aip ci hotfix" in str(err.value)


def test_a_hand_resolved_merge_on_a_hotfixed_branch_is_refused(env_repo: Path):
    _, branch = hotfixed(env_repo)
    git(env_repo, "checkout", "-q", "env/prod")
    git(env_repo, "merge", "-q", "--no-ff", "--no-commit", branch)
    (env_repo / "platform.txt").write_text("changed in the merge\n")
    git(env_repo, "add", "platform.txt")
    git(env_repo, "commit", "-qm", f"Merge {branch} (and a little more)")
    with pytest.raises(GuardError, match="not what git merges by itself"):
        check_branch(env_repo, "env/prod", "main")


def test_cli_reads_the_hotfix_label_and_checks_the_hotfix_head(env_repo: Path, tmp_path: Path):
    root = make_repo_copy(tmp_path / "platform")
    git(root, "branch", "env/prod")
    refused = run_aip(root, "guard", "pr", "--base", "env/prod", "--head", "main")
    assert refused.returncode == 1 and "needs the label 'hotfix'" in refused.stderr
    args = ("guard", "pr", "--base", "env/prod", "--head", "main", "--head-sha", "main", "--main", "main")
    allowed = run_aip(root, *args, "--labels", "bug,hotfix")
    assert allowed.returncode == 0, allowed.stderr
    assert "allowed by the label 'hotfix'" in allowed.stdout and "no commit that main lacks" in allowed.stdout
    no_sha = run_aip(
        root, "guard", "pr", "--base", "env/prod", "--head", "hotfix/prod-abc", "--labels", "hotfix"
    )
    assert no_sha.returncode == 1 and "give --head-sha" in no_sha.stderr
