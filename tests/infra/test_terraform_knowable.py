"""Plan-time knowability: every count/for_each of the environment roots is known before apply.

infra/tools/infra_check.py's `knowable` step plans a copy of each root in which every AWS, Kubernetes
and Helm resource or data source is a builtin `terraform_data` whose value is unknown until apply (as
a real ARN or endpoint is). The fixtures below reproduce the review's first-plan failure
(`for_each = toset(var.admin_principal_arns)` fed by role ARNs) and its fix, so the check is shown to
catch the bug, not just to pass. The edge: no AWS provider runs here; infra.yml plans with it.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

pytestmark = [pytest.mark.infra, pytest.mark.slow]

ROLES_MODULE = """
resource "aws_iam_role" "this" {
  for_each = var.names

  name = each.key
}

variable "names" {
  type = set(string)
}

output "arns" {
  value = { for k, r in aws_iam_role.this : k => r.arn }
}
"""

# The old eks-cluster pattern: instances keyed by the ARNs themselves.
CLUSTER_BY_ARN = """
resource "aws_eks_access_entry" "admin" {
  for_each = toset(var.admin_principal_arns)

  principal_arn = each.value
}

variable "admin_principal_arns" {
  type = list(string)
}
"""

# The fix: keys are static names, only the values wait for apply.
CLUSTER_BY_NAME = """
resource "aws_eks_access_entry" "this" {
  for_each = var.access_entries

  principal_arn = each.value
}

variable "access_entries" {
  type = map(string)
}
"""

COUNT_ON_ARN = """
resource "aws_sqs_queue" "maybe" {
  count = var.queue_arn == "" ? 1 : 0
}

variable "queue_arn" {
  type = string
}
"""


def write_tree(root: Path, cluster: str, wiring: str) -> Path:
    """An infra/ tree: modules/roles, modules/cluster (the pattern under test), envs/fixture."""
    files = {
        "modules/roles/main.tf": ROLES_MODULE,
        "modules/cluster/main.tf": cluster,
        "envs/fixture/main.tf": f"""
            provider "aws" {{
              region = "eu-west-1"
            }}

            module "roles" {{
              source = "../../modules/roles"
              names  = ["deploy", "apply"]
            }}

            module "cluster" {{
              source = "../../modules/cluster"
              {wiring}
            }}
        """,
    }
    for name, text in files.items():
        path = root / "infra" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root / "infra"


def standin_plan(tools_python, infra: Path) -> dict[str, object]:
    result = tools_python(
        "import json\nfrom pathlib import Path\nimport infra_check as ic\n"
        f"infra = Path({str(infra)!r})\n"
        "ok, out = ic.standin_plan(infra / 'envs' / 'fixture', infra)\n"
        "print(json.dumps({'ok': ok, 'errors': ic.standin_errors(out) if not ok else [], 'out': out[-2000:]}))"
    )
    assert isinstance(result, dict)
    return result


def test_the_stand_in_plan_catches_for_each_keyed_by_role_arns(tools_python, tmp_path: Path):
    infra = write_tree(tmp_path, CLUSTER_BY_ARN, "admin_principal_arns = values(module.roles.arns)")
    result = standin_plan(tools_python, infra)
    assert result["ok"] is False
    assert result["errors"] == [
        "Invalid for_each argument: modules/cluster/main.tf, resource aws_eks_access_entry.admin"
    ], json.dumps(result, indent=2)


def test_the_stand_in_plan_catches_count_decided_by_an_arn(tools_python, tmp_path: Path):
    infra = write_tree(tmp_path, COUNT_ON_ARN, 'queue_arn = module.roles.arns["deploy"]')
    result = standin_plan(tools_python, infra)
    assert result["ok"] is False
    assert result["errors"] == [
        "Invalid count argument: modules/cluster/main.tf, resource aws_sqs_queue.maybe"
    ], json.dumps(result, indent=2)


def test_static_keys_with_apply_time_values_plan(tools_python, tmp_path: Path):
    infra = write_tree(tmp_path, CLUSTER_BY_NAME, "access_entries = module.roles.arns")
    result = standin_plan(tools_python, infra)
    assert result["ok"] is True, json.dumps(result, indent=2)
    assert "Plan: 4 to add" in str(result["out"])  # 2 roles + 2 access entries, all stand-ins


def test_every_environment_root_plans_with_every_cloud_value_unknown(infra_check):
    proc = infra_check("knowable")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for root in ("bootstrap", "dev", "staging", "prod"):
        assert f"infra/envs/{root}" in proc.stdout
