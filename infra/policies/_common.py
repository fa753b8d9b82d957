"""Helpers shared by the organisation's checkov policies (not a check: defines no `check` object)."""

from __future__ import annotations

import json
import re
from typing import Any

REQUIRED_TAGS = ("owner", "environment", "cost-center")

# Instance families with NVIDIA GPUs (p*, g* except the AMD g4ad and Graviton g5g).
GPU_INSTANCE = re.compile(r"^(p[2-6][a-z0-9-]*|g[3-6](?!ad|g)[a-z0-9-]*)\.", re.IGNORECASE)
GPU_AMI_TYPE = re.compile(r"(GPU|NVIDIA)", re.IGNORECASE)
GPU_TAINT_KEY = "nvidia.com/gpu"

# Resource types this platform creates that accept `tags` (checked by CKV_ORG_1). Kept as an explicit
# list because "supports tags" is provider schema knowledge checkov does not have offline; add a type
# here when a module starts creating it.
TAGGABLE = (
    "aws_autoscaling_group",
    "aws_cloudwatch_log_group",
    "aws_db_instance",
    "aws_db_parameter_group",
    "aws_db_subnet_group",
    "aws_dynamodb_table",
    "aws_eip",
    "aws_eks_cluster",
    "aws_eks_node_group",
    "aws_flow_log",
    "aws_iam_openid_connect_provider",
    "aws_iam_policy",
    "aws_iam_role",
    "aws_instance",
    "aws_internet_gateway",
    "aws_kms_key",
    "aws_launch_template",
    "aws_nat_gateway",
    "aws_route_table",
    "aws_s3_bucket",
    "aws_security_group",
    "aws_subnet",
    "aws_vpc",
    "aws_vpc_endpoint",
)


def first(conf: dict[str, list[Any]], key: str) -> Any:
    """Return the first value checkov parsed for `key` (HCL attributes arrive as one-item lists)."""
    value = conf.get(key)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def is_unresolved(value: Any) -> bool:
    """True when checkov could not resolve a value (a module input scanned without its caller)."""
    return isinstance(value, str) and ("var." in value or "${" in value or "local." in value)


def blocks(conf: dict[str, list[Any]], key: str) -> list[dict[str, Any]]:
    """Return the nested blocks named `key` (checkov lists repeated blocks; values are one-item lists)."""
    found = conf.get(key) or []
    out: list[dict[str, Any]] = []
    for block in found if isinstance(found, list) else [found]:
        if isinstance(block, list):
            out.extend(b for b in block if isinstance(b, dict))
        elif isinstance(block, dict):
            out.append(block)
    return out


def scalar(block: dict[str, Any], key: str) -> Any:
    """Return a nested block's attribute with checkov's one-item list unwrapped."""
    value = block.get(key)
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def policy_statements(policy: Any) -> list[dict[str, Any]] | None:
    """Parse an IAM policy (JSON string or rendered dict) into statements; None when unresolvable."""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return None
    if not isinstance(policy, dict):
        return None
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return [s for s in statements if isinstance(s, dict)]


def as_list(value: Any) -> list[Any]:
    """Flatten checkov's nested one-item lists into a flat list of scalars."""
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            out.extend(as_list(item))
        return out
    return [value]


def is_wildcard_action(action: Any) -> bool:
    """`*`, `iam:*` or `s3:*` style actions grant everything a service offers."""
    return isinstance(action, str) and (action.strip() == "*" or action.strip().endswith(":*"))
