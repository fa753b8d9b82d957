"""terraform-compliance: each feature passes its passing fixture and fails its failing one, by name."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.infra import INFRA

pytestmark = pytest.mark.infra

FEATURES = INFRA / "compliance" / "features"
FIXTURES = INFRA / "compliance" / "fixtures"
RULES = sorted(p.name for p in FEATURES.iterdir() if p.is_dir())

# The resource each failing fixture plants (the bad inputs, as plans).
OFFENDER = {
    "required_tags": "aws_eks_node_group.gpu_untagged",
    "gpu_pool_taints": "aws_eks_node_group.gpu_untainted",
    "no_public_buckets": "aws_s3_bucket_public_access_block.public",
    "encrypted_buckets": "aws_s3_bucket.unencrypted",
    "no_wildcard_iam_actions": "aws_iam_policy.admin",
    "encrypted_stores": "aws_elasticache_replication_group.plaintext",
}


def compliance(tool, rule: str, case: str):
    return tool(
        "terraform-compliance",
        "-f",
        str(FEATURES / rule),
        "-p",
        str(FIXTURES / rule / f"{case}.json"),
        "--no-ansi",
    )


def test_every_rule_has_a_feature_and_a_pass_and_fail_fixture():
    assert set(RULES) == set(OFFENDER)
    for rule in RULES:
        assert list((FEATURES / rule).glob("*.feature"))
        assert (FIXTURES / rule / "pass.json").is_file() and (FIXTURES / rule / "fail.json").is_file()


def test_fixtures_are_one_line_plan_json_and_match_their_generator():
    for path in FIXTURES.glob("*/*.json"):
        text = path.read_text()
        assert text.count("\n") == 1, f"{path} must be one line (terraform-compliance needs it)"
        plan = json.loads(text)
        assert {"format_version", "planned_values", "resource_changes", "configuration"} <= plan.keys()
    proc = subprocess.run(
        [sys.executable, str(FIXTURES / "build.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("rule", RULES)
def test_feature_passes_on_its_compliant_plan(tool, rule):
    proc = compliance(tool, rule, "pass")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]
    assert "failed" not in proc.stdout.split("features (")[-1].split(")")[0]


@pytest.mark.parametrize("rule", RULES)
def test_feature_fails_on_its_offending_plan_naming_the_resource_and_the_rule(tool, rule):
    proc = compliance(tool, rule, "fail")
    assert proc.returncode != 0, proc.stdout[-3000:]
    failures = [line for line in proc.stdout.splitlines() if "Failure:" in line and OFFENDER[rule] in line]
    assert failures, f"no failure names {OFFENDER[rule]}:\n{proc.stdout[-3000:]}"
    feature_title = next(
        line
        for line in (FEATURES / rule / f"{rule}.feature").read_text().splitlines()
        if line.startswith("Feature:")
    )
    assert feature_title in proc.stdout
