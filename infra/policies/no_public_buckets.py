"""CKV_ORG_3: no bucket is public: public access blocks block everything, and no ACL grants the world."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from _common import first

PAB_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")


class NoPublicBuckets(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure no S3 bucket is public (all four public access block flags, no public ACL)",
            id="CKV_ORG_3",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=(
                "aws_s3_bucket",
                "aws_s3_bucket_acl",
                "aws_s3_bucket_public_access_block",
                "aws_s3_account_public_access_block",
            ),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        if self.entity_type in ("aws_s3_bucket", "aws_s3_bucket_acl"):
            self.evaluated_keys = ["acl"]
            acl = first(conf, "acl")
            if isinstance(acl, str) and acl in PUBLIC_ACLS:
                self.details.append(f"public ACL {acl}")
                return CheckResult.FAILED
            return CheckResult.PASSED
        self.evaluated_keys = list(PAB_FLAGS)
        off = [flag for flag in PAB_FLAGS if first(conf, flag) is not True]
        if off:
            self.details.append(f"public access not blocked: {', '.join(off)}")
            return CheckResult.FAILED
        return CheckResult.PASSED


check = NoPublicBuckets()
