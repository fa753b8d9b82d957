"""checkov: zero failed checks over every module and root, and the organisation policies catch bad input."""

from __future__ import annotations

import json

import pytest

from tests.support.infra import INFRA
from tests.support.repo import REPO_ROOT

pytestmark = pytest.mark.infra

FIXTURES = REPO_ROOT / "tests" / "infra" / "fixtures" / "policies"
ORG_CHECKS = "CKV_ORG_1,CKV_ORG_2,CKV_ORG_3,CKV_ORG_4,CKV2_ORG_5,CKV2_ORG_6"

# (rule, resource) pairs the bad fixture must fail: the bad inputs.
BAD_INPUTS = {
    "a public bucket": ("CKV_ORG_3", "aws_s3_bucket_public_access_block.public"),
    "an unencrypted bucket": ("CKV2_ORG_6", "aws_s3_bucket.unencrypted"),
    "an untagged GPU pool": ("CKV_ORG_1", "aws_eks_node_group.untagged_gpu"),
    "a GPU pool without taints": ("CKV_ORG_2", "aws_eks_node_group.untainted_gpu"),
    "an IAM policy with * actions": ("CKV_ORG_4", "aws_iam_policy.wildcard"),
    "a policy document with service:* actions": ("CKV_ORG_4", "aws_iam_policy_document.service_wildcard"),
}


def checkov(tool, directory, *extra):
    proc = tool(
        "checkov",
        "-d",
        str(directory),
        "--framework",
        "terraform",
        "--skip-download",
        "--external-checks-dir",
        str(INFRA / "policies"),
        "--check",
        ORG_CHECKS,
        *extra,
    )
    return proc


@pytest.fixture(scope="module")
def bad_report(tool):
    proc = checkov(tool, FIXTURES / "bad", "-o", "json")
    assert proc.returncode == 1, proc.stderr  # checkov exits 1 when a check fails
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def bad_cli(tool):
    return checkov(tool, FIXTURES / "bad", "-o", "cli", "--compact").stdout


@pytest.mark.slow
@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c.replace(" ", "-"))
def test_bad_input_fails_the_organisation_policy_naming_the_resource_and_the_rule(case, bad_report, bad_cli):
    rule, resource = BAD_INPUTS[case]
    failed = {(c["check_id"], c["resource"]) for c in bad_report["results"]["failed_checks"]}
    assert (rule, resource) in failed, (
        f"{case}: expected {rule} to fail for {resource}; failed: {sorted(failed)}"
    )
    # The report a person reads names both: "Check: CKV_ORG_3: "Ensure ..." FAILED for resource: <address>".
    section = bad_cli.split(f"Check: {rule}:")
    assert any(f"FAILED for resource: {resource}" in part.split("Check: ")[0] for part in section[1:]), (
        bad_cli
    )


@pytest.mark.slow
def test_bad_input_breaks_nothing_but_the_intended_rules(bad_report):
    failed = {(c["check_id"], c["resource"]) for c in bad_report["results"]["failed_checks"]}
    assert failed == set(BAD_INPUTS.values())


@pytest.mark.slow
def test_the_compliant_twin_passes_every_organisation_policy(tool):
    proc = checkov(tool, FIXTURES / "good", "-o", "json")
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = json.loads(proc.stdout)
    ran = {c["check_id"] for c in report["results"]["passed_checks"]}
    assert ran == set(ORG_CHECKS.split(","))


@pytest.mark.slow
def test_checkov_finds_zero_failed_checks_in_every_module_and_root(infra_check):
    proc = infra_check("checkov")
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert "failed 0" in proc.stdout
    for target in (
        "infra/modules",
        "infra/envs/bootstrap",
        "infra/envs/dev",
        "infra/envs/staging",
        "infra/envs/prod",
    ):
        assert f"{target}: passed" in proc.stdout
