"""CKV_ORG_1: every taggable resource carries the tags owner, environment and cost-center."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from _common import REQUIRED_TAGS, TAGGABLE, blocks, first, is_unresolved, scalar


class RequiredTags(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure taggable resources carry the required tags owner, environment and cost-center",
            id="CKV_ORG_1",
            categories=(CheckCategories.CONVENTION,),
            supported_resources=TAGGABLE,
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["tags"]
        if self.entity_type == "aws_autoscaling_group":
            return self._scan_asg(conf)
        tags = first(conf, "tags")
        if tags is None:
            self.details.append(f"no tags; required: {', '.join(REQUIRED_TAGS)}")
            return CheckResult.FAILED
        if is_unresolved(tags):
            # A module scanned without its caller: the module's `tags` variable validates the keys and
            # the examples and environment roots that pass real tags are scanned too.
            return CheckResult.UNKNOWN
        if not isinstance(tags, dict):
            return CheckResult.UNKNOWN
        missing = [k for k in REQUIRED_TAGS if not str(tags.get(k, "") or "").strip()]
        if missing:
            self.details.append(f"missing required tags: {', '.join(missing)}")
            return CheckResult.FAILED
        return CheckResult.PASSED

    def _scan_asg(self, conf: dict[str, list[Any]]) -> CheckResult:
        """Autoscaling groups tag through repeated `tag { key, value }` blocks."""
        self.evaluated_keys = ["tag"]
        keys = {str(scalar(t, "key")) for t in blocks(conf, "tag")}
        if any(is_unresolved(k) for k in keys):
            return CheckResult.UNKNOWN
        missing = [k for k in REQUIRED_TAGS if k not in keys]
        if missing:
            self.details.append(f"missing required tags: {', '.join(missing)}")
            return CheckResult.FAILED
        return CheckResult.PASSED


check = RequiredTags()
