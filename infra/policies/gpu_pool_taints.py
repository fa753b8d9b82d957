"""CKV_ORG_2: a GPU node pool is tainted `nvidia.com/gpu=...:NoSchedule` so only GPU pods land there."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from _common import GPU_AMI_TYPE, GPU_INSTANCE, GPU_TAINT_KEY, as_list, blocks, first, scalar


def _is_gpu_pool(conf: dict[str, list[Any]]) -> bool:
    ami_type = first(conf, "ami_type")
    if isinstance(ami_type, str) and GPU_AMI_TYPE.search(ami_type):
        return True
    instance_types = as_list(conf.get("instance_types") or [])
    return any(isinstance(t, str) and GPU_INSTANCE.match(t) for t in instance_types)


class GpuPoolTainted(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure GPU node pools carry the NoSchedule taint nvidia.com/gpu",
            id="CKV_ORG_2",
            categories=(CheckCategories.KUBERNETES,),
            supported_resources=("aws_eks_node_group",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["ami_type", "instance_types", "taint"]
        if not _is_gpu_pool(conf):
            return CheckResult.PASSED
        for taint in blocks(conf, "taint"):
            if scalar(taint, "key") == GPU_TAINT_KEY and scalar(taint, "effect") == "NO_SCHEDULE":
                return CheckResult.PASSED
        self.details.append(f"GPU pool without taint {GPU_TAINT_KEY}:NO_SCHEDULE")
        return CheckResult.FAILED


check = GpuPoolTainted()
