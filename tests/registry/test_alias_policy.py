"""The registry alias policy (pipelines/registry/alias_policy.py): parsing and decisions, no server.
The guard on a real MLflow server: tests/integration/test_mlflow_auth.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.registry.alias_policy import POLICY_ENV, PolicyError, load_policy, parse_policy

SHIPPED = """\
aliases:
  prod: [aip-deploy-prod]
  staging: [aip-deploy-staging]
  dev: [aip-deploy-dev, aip-deploy-dev-2]
other_aliases: deny
break_glass: admins
"""


@pytest.fixture
def policy(tmp_path: Path):
    path = tmp_path / "registry-auth.yaml"
    path.write_text(SHIPPED)
    return load_policy(path)


def test_only_the_environments_deploy_user_moves_its_alias(policy):
    assert policy.decide("aip-deploy-prod", False, "prod").outcome == "allowed"
    assert policy.decide("aip-deploy-dev-2", False, "dev").outcome == "allowed"
    refused = policy.decide("aip-deploy-dev", False, "prod")
    assert refused.outcome == "denied"
    assert refused.reason == "user 'aip-deploy-dev' may not move @prod; the policy allows: aip-deploy-prod"


def test_alias_names_compare_case_insensitively(policy):
    assert policy.decide("aip-deploy-dev", False, "PROD").outcome == "denied"
    assert policy.decide("aip-deploy-prod", False, "Prod").outcome == "allowed"


def test_an_admin_outside_the_policy_is_break_glass_unless_turned_off(policy):
    assert policy.decide("root", True, "prod").outcome == "break_glass"
    strict = parse_policy({"aliases": {"prod": ["p"]}, "break_glass": "none"}, "x.yaml")
    assert strict.decide("root", True, "prod").outcome == "denied"


def test_unlisted_aliases_follow_other_aliases(policy):
    assert policy.decide("aip-deploy-prod", False, "champion").outcome == "denied"
    lenient = parse_policy({"aliases": {"prod": ["p"]}, "other_aliases": "allow"}, "x.yaml")
    assert lenient.decide("anyone", False, "champion").outcome == "allowed"
    assert lenient.decide("anyone", False, "prod").outcome == "denied"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "registry-auth.yaml: expected a mapping with keys aliases, break_glass, other_aliases"),
        ({"aliases": {"prod": ["p"]}, "admins": []}, "registry-auth.yaml: unknown key(s) admins"),
        ({}, "registry-auth.yaml: 'aliases' must be a non-empty mapping of alias -> list of users"),
        (
            {"aliases": {"prod": "p"}},
            "registry-auth.yaml: aliases.prod: expected a list of user names, got 'p'",
        ),
        ({"aliases": {"prod": ["p"], "PROD": ["q"]}}, "aliases.PROD: listed twice"),
        (
            {"aliases": {"prod": ["p"]}, "other_aliases": "maybe"},
            "other_aliases: expected allow or deny, got 'maybe'",
        ),
        ({"aliases": {"prod": ["p"]}, "break_glass": True}, "break_glass: expected admins or none, got True"),
    ],
)
def test_a_bad_policy_names_the_file_and_the_field(data, message):
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_policy(data, "registry-auth.yaml")


def test_unreadable_or_invalid_files_name_themselves(tmp_path: Path):
    with pytest.raises(PolicyError, match=r"missing\.yaml: cannot read the registry alias policy"):
        load_policy(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("aliases: [unclosed\n")
    with pytest.raises(PolicyError, match=r"bad\.yaml: not valid YAML"):
        load_policy(bad)


def test_the_server_plugin_refuses_to_start_without_a_policy(monkeypatch: pytest.MonkeyPatch):
    from pipelines.registry.server_auth import create_app

    monkeypatch.delenv(POLICY_ENV, raising=False)
    with pytest.raises(PolicyError, match=f"{POLICY_ENV} is not set"):
        create_app()
