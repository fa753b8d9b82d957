"""CKV_ORG_4: no IAM policy allows `*` or `service:*` actions (least privilege, named actions only)."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.data.base_check import BaseDataCheck
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from _common import as_list, blocks, first, is_wildcard_action, policy_statements, scalar

NAME = "Ensure IAM policies allow named actions only (no `*` or `service:*`)"
ID = "CKV_ORG_4"


class NoWildcardIamActions(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name=NAME,
            id=ID,
            categories=(CheckCategories.IAM,),
            supported_resources=(
                "aws_iam_policy",
                "aws_iam_role_policy",
                "aws_iam_user_policy",
                "aws_iam_group_policy",
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["policy"]
        statements = policy_statements(first(conf, "policy"))
        if statements is None:
            return CheckResult.UNKNOWN
        for statement in statements:
            if statement.get("Effect", "Allow") != "Allow":
                continue
            wild = [a for a in as_list(statement.get("Action", [])) if is_wildcard_action(a)]
            if wild:
                self.details.append(f"wildcard actions {wild}")
                return CheckResult.FAILED
        return CheckResult.PASSED


class NoWildcardIamActionsInDocument(BaseDataCheck):
    def __init__(self) -> None:
        super().__init__(
            name=NAME,
            id=ID,
            categories=(CheckCategories.IAM,),
            supported_data=("aws_iam_policy_document",),
        )

    def scan_data_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["statement"]
        for statement in blocks(conf, "statement"):
            if (scalar(statement, "effect") or "Allow") != "Allow":
                continue
            wild = [a for a in as_list(statement.get("actions", [])) if is_wildcard_action(a)]
            if wild:
                self.details.append(f"wildcard actions {wild}")
                return CheckResult.FAILED
        return CheckResult.PASSED


check = NoWildcardIamActions()
data_check = NoWildcardIamActionsInDocument()
