"""pipelines/fork/settings.py: the one model of a fork's GitHub settings, and its agreement with
docs/gitops.md's table "What a fork must set" (the prose for people; this model is the structured list
that `aip doctor` checks and `aip init` prints)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines.config import load_platform
from pipelines.fork.settings import NEEDS, REPOSITORY, fork_settings, render_settings, workflow_settings
from tests.gitops.test_settings_doc import table
from tests.support.repo import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
RULESETS = REPO_ROOT / ".github" / "rulesets"


@pytest.fixture(scope="module")
def platform():
    return load_platform(REPO_ROOT / "platform.yaml")


def test_every_setting_the_workflows_read_is_described_and_documented():
    used, _ = workflow_settings(WORKFLOWS)
    names = {name for _, name, _ in used}
    assert names == set(NEEDS), (
        f"NEEDS lacks {sorted(names - set(NEEDS))}, has unused {sorted(set(NEEDS) - names)}"
    )
    assert names == set(table()), (
        "docs/gitops.md's table and the workflows disagree (tests/gitops/test_settings_doc.py)"
    )


def test_the_doc_table_says_the_same_kind_and_scope_as_the_model():
    used, _ = workflow_settings(WORKFLOWS)
    rows = table()
    for kind_word, name, scope in used:
        if name not in rows:  # the test above names it
            continue
        kind = rows[name]["kind"]
        assert ("variable" if kind_word == "vars" else "secret") in kind, (name, kind)
        if "optional" in kind:  # what the table calls optional never fails `aip doctor`
            assert NEEDS[name].optional, f"{name}: the table says optional, NEEDS does not"
        # an environment job also sees repository values: one value for all may be documented as such
        where = (
            ("repository",)
            if scope == REPOSITORY
            else ("environment",) + ("repository",) * NEEDS[name].inherit
        )
        assert any(w in kind for w in where), (
            f"{name} is read in {scope!r} jobs but the table's kind says {kind!r}"
        )


def test_environments_follow_platform_yaml_and_the_workflows(platform):
    s = fork_settings(platform, REPO_ROOT)
    envs = {e.name: e for e in s.environments}
    per_environment = {e.name for e in s.environments if e.platform_environment}
    patterns = ("{E}", "{E}-monitoring", "infra-{E}")
    assert per_environment == {p.format(E=e) for e in platform.promotion_order for p in patterns}
    for name in platform.promotion_order:
        approval = platform.environments[name].requires_approval
        assert envs[name].branches == (f"env/{name}",)
        assert envs[f"infra-{name}"].branches == (f"env/{name}",)
        assert envs[name].reviewers is approval and envs[f"infra-{name}"].reviewers is approval
        # drift runs on a schedule, on the default branch, and must never wait for a reviewer
        assert envs[f"{name}-monitoring"].branches == ("main",)
        assert envs[f"{name}-monitoring"].reviewers is False
    # a fixed name (ingest.yml's `environment: data`) is one environment; scheduled: main, no reviewers
    assert (envs["data"].branches, envs["data"].reviewers, envs["data"].platform_environment) == (
        ("main",),
        False,
        "",
    )
    assert s.branches == [f"env/{name}" for name in platform.promotion_order]
    assert set(s.runners) == {platform.environments[e].runner for e in platform.promotion_order} - {None}


def test_settings_are_scoped_where_the_jobs_read_them(platform):
    s = fork_settings(platform, REPO_ROOT)
    scopes = {(n.name, n.kind, n.scope) for n in s.settings}
    assert ("AWS_ROLE_ARN", "variable", "infra-prod") in scopes
    assert ("AIP_SAMPLE_SINK", "variable", "prod-monitoring") in scopes
    assert ("MLFLOW_TRACKING_PASSWORD", "secret", "prod") in scopes
    assert ("PROMOTION_TOKEN", "secret", REPOSITORY) in scopes
    assert ("AIP_GPU_RUNNERS", "variable", REPOSITORY) in scopes
    # the deploy user never reaches the monitoring job, nor the read-only user the deploy job
    assert ("MLFLOW_TRACKING_PASSWORD", "secret", "prod-monitoring") not in scopes
    assert ("MLFLOW_READONLY_PASSWORD", "secret", "prod") not in scopes
    region = next(n for n in s.settings if n.name == "AWS_REGION" and n.scope == REPOSITORY)
    assert region.value == platform.organisation.region


def test_kubernetes_environments_need_the_cluster_and_prometheus_not_the_admin_token(platform):
    s = fork_settings(platform, REPO_ROOT)
    names = {(n.name, n.scope) for n in s.settings}
    for name, env in platform.environments.items():
        if name not in platform.promotion_order:
            continue
        kubernetes = env.kubernetes_namespace is not None
        assert (("EKS_CLUSTER", name) in names) is kubernetes
        assert (("AIP_PROMETHEUS_URL", name) in names) is kubernetes
        assert (("AIP_ADMIN_TOKEN", name) in names) is not kubernetes


def test_render_settings_is_a_checklist_of_every_setting(platform):
    text = render_settings(platform, REPO_ROOT)
    s = fork_settings(platform, REPO_ROOT)
    for env in s.environments:
        assert f"- [ ] `{env.name}`*" in text
    for need in s.settings:
        assert need.name in text
    for ruleset in s.rulesets:
        assert ruleset.file in text
    assert "Allow GitHub Actions to create and approve pull requests" in text
    assert all(line.startswith(("- [ ]", "  ", "")) for line in text.splitlines())


# What GitHub's "Create a repository ruleset" request accepts (REST API 2022-11-28).
RULESET_KEYS = {"name", "target", "enforcement", "bypass_actors", "conditions", "rules"}
RULE_TYPES = {
    "creation", "update", "deletion", "required_linear_history", "merge_queue", "required_deployments",
    "required_signatures", "pull_request", "required_status_checks", "non_fast_forward",
    "commit_message_pattern", "commit_author_email_pattern", "committer_email_pattern",
    "branch_name_pattern", "tag_name_pattern", "workflows", "code_scanning", "copilot_code_review",
}  # fmt: skip


@pytest.mark.parametrize("path", sorted(RULESETS.rglob("*.json")), ids=lambda p: p.name)
def test_rulesets_are_github_request_bodies(path: Path):
    body = json.loads(path.read_text(encoding="utf-8"))
    assert set(body) <= RULESET_KEYS and {"name", "target", "enforcement", "conditions", "rules"} <= set(body)
    assert body["target"] == "branch" and body["enforcement"] == "active"
    assert set(body["conditions"]) == {"ref_name"} and body["conditions"]["ref_name"]["include"]
    types = [rule["type"] for rule in body["rules"]]
    assert set(types) <= RULE_TYPES and len(types) == len(set(types))


@pytest.mark.parametrize("name", ["main", "env-branches"])
def test_protected_branches_need_a_pr_and_pr_ok_and_refuse_force_pushes_and_deletion(name: str):
    body = json.loads((RULESETS / f"{name}.json").read_text(encoding="utf-8"))
    rules = {rule["type"]: rule.get("parameters", {}) for rule in body["rules"]}
    assert {"deletion", "non_fast_forward", "pull_request", "required_status_checks"} <= set(rules)
    checks = rules["required_status_checks"]["required_status_checks"]
    assert checks == [{"context": "pr-ok", "integration_id": 15368}]  # from GitHub Actions only
    assert rules["pull_request"]["required_approving_review_count"] >= 1
    if name == "env-branches":
        assert body["conditions"]["ref_name"]["include"] == ["refs/heads/env/*"]
        # `aip guard branch` refuses squashed or rebased promotions: merge commits only
        assert rules["pull_request"]["allowed_merge_methods"] == ["merge"]
        # `aip doctor --apply` creates env/<E> from main's tip, whose pr-ok ran on main's PR
        assert rules["required_status_checks"]["do_not_enforce_on_create"] is True


def test_environments_and_their_branches_come_from_the_workflow_triggers(tmp_path: Path, platform):
    shutil.copytree(REPO_ROOT / ".github" / "rulesets", tmp_path / ".github" / "rulesets")
    (tmp_path / ".github" / "workflows").mkdir()
    (tmp_path / ".github" / "workflows" / "x.yml").write_text(
        "on: {push: {branches: [env/dev, env/prod]}}\n"
        "jobs:\n  a:\n    environment: canary-${{ needs.plan.outputs.environment }}\n"
        "    steps: [{run: make x, env: {A: '${{ secrets.NEW_THING }}'}}]\n",
        encoding="utf-8",
    )
    s = fork_settings(platform, tmp_path)
    envs = {e.name: e for e in s.environments}
    assert envs["canary-prod"].branches == ("env/prod",) and envs["canary-prod"].reviewers is True
    assert envs["prod"].branches == ("env/prod",)  # every fork has its deploy environments
    # a name NEEDS does not describe is still required, and says where it is read
    new = [n for n in s.settings if n.name == "NEW_THING"]
    assert {n.scope for n in new} == {f"canary-{e}" for e in platform.promotion_order}
    assert all(not n.optional and "x.yml" in n.purpose for n in new)
