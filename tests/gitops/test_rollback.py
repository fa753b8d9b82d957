"""Pins in git and `aip rollback` (ADR 0022), on a real SQLite registry and real git: the pin keeps
model.yaml's comments and never changes the fingerprint; `aip deploy` honours hold and version pins
and `aip ci deployed` counts a held model as deployed; the rollback finds the version @E held before
and, for an environment with a branch, commits the pin on rollback/<model>-<E>-v<N> and opens a pull
request into main (the recorded GitHub API of tests/support/github_api.py; GitHub is unreachable)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.config import load_model
from pipelines.config.errors import ConfigError
from pipelines.github import GitHub
from pipelines.gitops import GuardError
from pipelines.gitops.rollback import rollback, target_version, write_pin
from pipelines.registry.context import Context
from pipelines.registry.fingerprint import compute
from pipelines.repo.layout import Repo
from tests.support.cli import run_aip
from tests.support.git import git
from tests.support.github_api import RecordedGitHub
from tests.support.registry import TUMOR
from tests.support.repo import edit_yaml, make_repo_copy

SLUG = "acme/platform"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A repo copy whose SQLite registry has tumor-classifier v1..v3; @local moved v1 → v2 (so v2
    remembers v1), v3 was registered and never deployed. Yields (root, the env pointing aip at it)."""
    root = make_repo_copy(tmp_path_factory.mktemp("rollback") / "repo")
    env = {"AIP_TRACKING_URI": f"sqlite:///{root / '.aip' / 'registry.db'}"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        ctx = Context.open(Repo(root), "local")
        ctx.client.create_registered_model(TUMOR)
        for n in (1, 2, 3):
            ctx.client.create_model_version(
                TUMOR, source=f"file:///nowhere/{n}", tags={"aip.fingerprint": f"f{n}"}
            )
        for version in ("1", "2"):
            ctx.registry.set_alias(TUMOR, "local", version)
            ctx.client.set_model_version_tag(TUMOR, version, "aip.deploy.local.verdict", "promoted")
    yield root, env


def model_yaml(root: Path) -> Path:
    return root / "models" / TUMOR / "model.yaml"


def test_the_pin_keeps_every_comment_and_never_changes_the_fingerprint(tmp_path: Path):
    root = make_repo_copy(tmp_path / "repo")
    before = model_yaml(root).read_text()
    fingerprint = compute(Repo(root), TUMOR, "data-v1").digest
    model_yaml(root).write_text(write_pin(before, "prod", 3, "v4 misroutes class 2"))
    after = model_yaml(root).read_text()
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    assert removed == []  # comments, order and quotes kept: the pin only adds lines
    settings = load_model(model_yaml(root)).environment("prod")
    assert (settings.version, settings.reason, settings.pin) == (3, "v4 misroutes class 2", "v3")
    assert compute(Repo(root), TUMOR, "data-v1").digest == fingerprint  # a pin never retrains
    edit_yaml(model_yaml(root), lambda d: d["environments"]["prod"].update({"hold": True}))
    with pytest.raises(ConfigError, match="either hold: true or version: N"):
        load_model(model_yaml(root))


def test_the_version_held_before_comes_from_the_registry(
    platform: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
):
    root, env = platform
    monkeypatch.setenv("AIP_TRACKING_URI", env["AIP_TRACKING_URI"])
    current, target, history = target_version(Context.open(Repo(root), "local"), TUMOR)
    assert (current, target, history) == ("2", "1", ["v1", "v2"])  # v3 never ran here
    with pytest.raises(GuardError, match="has no version @staging"):
        target_version(Context.open(Repo(root), "staging"), TUMOR)


def deploy(root: Path, env: dict[str, str], report: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = run_aip(root, "deploy", TUMOR, "--env", "local", "--report-json", str(report), *args, env=env)
    data = json.loads(report.read_text()) if report.exists() else {}
    return result.returncode, data, result.stdout + result.stderr


@pytest.mark.slow  # four `aip` processes (~25 s)
def test_deploy_honours_a_hold_and_a_version_pin_and_promotion_counts_held(
    platform: tuple[Path, dict[str, str]], tmp_path: Path
):
    root, env = platform
    original = model_yaml(root).read_text()
    try:
        edit_yaml(
            model_yaml(root), lambda d: d["environments"]["local"].update({"hold": True, "reason": "audit"})
        )
        code, report, out = deploy(root, env, tmp_path / "held.json")
        assert code == 0, out
        assert (report["verdict"], report["version"], report["alias_after"]) == ("held", "2", "2")
        assert "held in local by models/tumor-classifier/model.yaml environments.local (audit)" in out
        code, _, out = deploy(root, env, tmp_path / "explicit.json", "--version", "3")
        assert code == 1 and "was not promoted: held" in out  # an explicit version never beats the pin
        gate = run_aip(
            root, "ci", "deployed", str(tmp_path / "held.json"), "--env", "local", "--models", TUMOR, env=env
        )
        assert "output deployed=true" in gate.stdout and "| held | v2 | held: audit |" in gate.stdout
        model_yaml(root).write_text(write_pin(original, "local", 2, None))  # pinned to what runs: a no-op
        code, report, out = deploy(root, env, tmp_path / "pinned.json")
        assert code == 0 and report["verdict"] == "up_to_date", out
        assert "pinned to v2 in local" in out
    finally:
        model_yaml(root).write_text(original)


@pytest.mark.slow  # an `aip` process with MLflow (~7 s)
def test_rollback_of_a_local_model_writes_the_pin_in_the_working_tree(platform: tuple[Path, dict[str, str]]):
    root, env = platform
    original = model_yaml(root).read_text()
    try:
        result = run_aip(
            root, "rollback", TUMOR, "--env", "local", "--reason", "bad v2", "--no-deploy", env=env
        )
        assert result.returncode == 0, result.stderr
        assert "@local is v2; local ran v1, v2; rolling back to v1" in result.stdout
        settings = load_model(model_yaml(root)).environment("local")
        assert (settings.version, settings.reason) == (1, "bad v2")
    finally:
        model_yaml(root).write_text(original)


def test_rollback_in_prod_commits_the_pin_on_a_branch_and_opens_a_pull_request_into_main(
    platform: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root, env = platform
    monkeypatch.setenv("AIP_TRACKING_URI", env["AIP_TRACKING_URI"])  # prod's registry: this SQLite one
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(root), str(origin))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    with RecordedGitHub() as gh:
        gh.route("GET", rf"/repos/{SLUG}/pulls", [])
        gh.route("POST", rf"/repos/{SLUG}/pulls", lambda req: (201, {"number": 8, "html_url": "https://x/8"}))
        gh.route("POST", rf"/repos/{SLUG}/issues/8/labels", [{"name": "rollback"}])
        result = rollback(
            Repo(clone), TUMOR, "prod", to=1, reason="v2 is slow", github=GitHub(SLUG, "t", api_url=gh.url)
        )
        pr = gh.calls("POST", rf"/repos/{SLUG}/pulls")[0].body
    assert result.branch == f"rollback/{TUMOR}-prod-v1" and result.pull_request == "#8 https://x/8"
    assert (pr["head"], pr["base"]) == (result.branch, "main") and "aip ci hotfix --env prod" in pr["body"]
    git(clone, "fetch", "-q", "origin")
    pinned = git(clone, "show", f"origin/{result.branch}:models/{TUMOR}/model.yaml")
    assert "  prod:\n    serving:\n      replicas: 2\n    version: 1\n    reason: v2 is slow" in pinned
    assert (
        git(clone, "diff", "--name-only", "origin/main", f"origin/{result.branch}")
        == f"models/{TUMOR}/model.yaml"
    )
    assert git(clone, "status", "--porcelain") == ""  # the checkout was not touched
    assert "aip ci hotfix --env prod" in result.next_steps(hotfix_ok=True)


def test_the_deploy_plan_lists_the_pins_of_its_environment(tmp_path: Path):
    from pipelines.gitops.plan import plan

    root = make_repo_copy(tmp_path / "repo")
    edit_yaml(model_yaml(root), lambda d: d["environments"]["prod"].update({"version": 2}))
    outputs = plan(Repo(root), "main", env="env/prod")
    assert json.loads(outputs["pins"]) == {TUMOR: "v2"}
    assert TUMOR in outputs["matrix"]  # still planned: its job deploys the pin (or reports held)
    assert json.loads(plan(Repo(root), "main", env="env/staging")["pins"]) == {}


def test_rollback_in_prod_without_a_remote_commits_the_branch_locally_and_deploys_nothing(
    platform: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
):
    root, env = platform
    monkeypatch.setenv("AIP_TRACKING_URI", env["AIP_TRACKING_URI"])
    before = model_yaml(root).read_text()
    result = rollback(Repo(root), TUMOR, "prod", to=1, github=None)
    assert result.branch == f"rollback/{TUMOR}-prod-v1" and not result.pull_request
    assert "version: 1" in git(root, "show", f"{result.branch}:models/{TUMOR}/model.yaml")
    assert (
        model_yaml(root).read_text() == before and result.deploy_verdict == ""
    )  # prod is not deployed from here
