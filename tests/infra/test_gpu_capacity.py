"""GPU arithmetic per environment: everything that can hold a GPU at the same time fits in the GPU pool.

At once, at worst: the stable track at its HPA maximum, the canary and the baseline at the size the
deploy backend scales them to during a rollout (run here: KubernetesBackend on the rendered overlay),
the ARC GPU runners at their maximum (infra/envs/<env>/main.tf: gpu_runners.arc_max_runners; training
runs in those runner jobs), any GPU Job in the overlay, and every other GPU Deployment (vLLM) at its
replicas, idle or not. The pool's maximum is the Karpenter GPU
NodePool's `nvidia.com/gpu` limit, which must equal gpu_pool.max_size x GPUs per instance type of the
same env root, with the same instance types and capacity type. The edge: real EC2 capacity (spot
availability, account GPU quotas) is not checked here.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.support.infra import INFRA
from tests.support.manifests import by_kind_name, render_overlay

pytestmark = pytest.mark.infra

ENVS = ["dev", "staging", "prod"]
MODEL = "tumor-classifier"
GPU = "nvidia.com/gpu"
# NVIDIA GPUs per EC2 instance type (AWS instance type pages); add a row for a type a fork uses.
GPUS_PER_INSTANCE = {
    "g5.xlarge": 1, "g5.2xlarge": 1, "g5.4xlarge": 1, "g5.8xlarge": 1, "g5.16xlarge": 1,
    "g5.12xlarge": 4, "g5.24xlarge": 4, "g5.48xlarge": 8,
    "g6.xlarge": 1, "g6.2xlarge": 1, "g6.4xlarge": 1, "g6.12xlarge": 4,
}  # fmt: skip


def hcl_block(text: str, name: str, where: str) -> str:
    """The `{ ... }` assigned to `name` in a Terraform file (one level of nesting is enough here)."""
    match = re.search(rf"^\s*{name}\s*=\s*\{{", text, re.MULTILINE)
    assert match, f"{where}: no `{name} = {{ ... }}` argument"
    depth, start = 0, match.end() - 1
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1 : i]
    raise AssertionError(f"{where}: unbalanced braces after `{name} =`")


def hcl_field(block: str, field: str, where: str, default: str | None = None) -> str:
    match = re.search(rf"\b{field}\s*=\s*(\[[^\]]*\]|[^,\n}}]+)", block)
    if match is None:
        assert default is not None, f"{where}: `{field}` is not set"
        return default
    return match.group(1).strip()


@dataclass(frozen=True)
class TerraformEnv:
    instance_types: list[str]
    max_size: int
    spot: bool
    arc_max_runners: int
    runner_gpus: int

    declared_gpus_per_node: int | None = None  # gpu_pool.gpus_per_node, where the env root sets it

    @property
    def gpus_per_instance(self) -> int:
        unknown = [t for t in self.instance_types if t not in GPUS_PER_INSTANCE]
        assert not unknown, f"GPU count of {unknown} unknown: add it to GPUS_PER_INSTANCE"
        counts = {GPUS_PER_INSTANCE[t] for t in self.instance_types}
        assert len(counts) == 1, f"gpu_pool.instance_types {self.instance_types} mix GPU counts {counts}"
        count = counts.pop()
        assert self.declared_gpus_per_node in (None, count), (
            f"gpu_pool.gpus_per_node = {self.declared_gpus_per_node}, but {self.instance_types} have {count}"
        )
        return count


def terraform_env(env: str) -> TerraformEnv:
    path = INFRA / "envs" / env / "main.tf"
    text, where = path.read_text(), f"infra/envs/{env}/main.tf"
    pool = hcl_block(text, "gpu_pool", where)
    runners = hcl_block(text, "gpu_runners", where)
    module = (INFRA / "modules" / "gpu-runners" / "main.tf").read_text()
    runner_gpus = re.search(r'requests\s*=\s*\{\s*"nvidia\.com/gpu"\s*=\s*"(\d+)"', module)
    assert runner_gpus, "infra/modules/gpu-runners/main.tf: runner pods' nvidia.com/gpu request not found"
    return TerraformEnv(
        instance_types=re.findall(r'"([^"]+)"', hcl_field(pool, "instance_types", f"{where} gpu_pool")),
        max_size=int(hcl_field(pool, "max_size", f"{where} gpu_pool")),
        spot=hcl_field(pool, "spot", f"{where} gpu_pool", default="false") == "true",
        arc_max_runners=int(hcl_field(runners, "arc_max_runners", f"{where} gpu_runners")),
        runner_gpus=int(runner_gpus.group(1)),
        declared_gpus_per_node=int(declared)
        if (declared := hcl_field(pool, "gpus_per_node", where, ""))
        else None,
    )


def gpus_of(pod_spec: dict[str, Any]) -> int:
    total = 0
    for container in pod_spec.get("containers", []):
        requests = container.get("resources", {}).get("requests", {})
        limits = container.get("resources", {}).get("limits", {})
        assert requests.get(GPU) == limits.get(GPU), f"{container['name']}: GPU request != limit"
        total += int(requests.get(GPU, 0))
    return total


@cache
def rendered(env: str) -> dict[tuple[str, str], dict[str, Any]]:
    return by_kind_name(render_overlay(env))


@cache
def rollout_replicas(env: str) -> dict[str, int]:
    """Replicas of the canary and baseline while a rollout runs, as the deploy backend sets them."""
    from pipelines.deploy.backends import OfflineKubectl

    with tempfile.TemporaryDirectory(prefix=f"gpu-capacity-{env}-") as folder:
        return _rollout(OfflineKubectl.from_kustomize(INFRA / "k8s" / "overlays" / env, Path(folder)))


def _rollout(cluster: Any) -> dict[str, int]:
    from pipelines.deploy.backends import VERSION_ENV, KubernetesBackend

    backend = KubernetesBackend(cluster)
    backend.load_canary(MODEL, "2")
    container = {"name": "model-server", "env": [{"name": VERSION_ENV, "value": "1"}]}
    cluster.patch(
        "Deployment",
        "model-server-stable",
        "strategic",
        {"spec": {"template": {"spec": {"containers": [container]}}}},
    )
    backend.load_baseline(MODEL)
    return {
        t: int(cluster.get("Deployment", f"model-server-{t}")["spec"]["replicas"])
        for t in ("canary", "baseline")
    }


@dataclass(frozen=True)
class Demand:
    lines: list[tuple[str, int]]  # (workload, GPUs it can hold at once)
    idle: int  # GPUs held with no rollout and no job running

    @property
    def total(self) -> int:
        return sum(n for _what, n in self.lines)


def demand(env: str) -> Demand:
    objs = rendered(env)
    tf = terraform_env(env)
    hpa = objs[("HorizontalPodAutoscaler", "model-server-stable")]["spec"]
    per_pod = {
        t: gpus_of(objs[("Deployment", f"model-server-{t}")]["spec"]["template"]["spec"])
        for t in ("stable", "canary", "baseline")
    }
    rollout = rollout_replicas(env)
    lines = [
        (
            f"model-server-stable: {hpa['maxReplicas']} (HPA max) x {per_pod['stable']}",
            hpa["maxReplicas"] * per_pod["stable"],
        ),
        (
            f"model-server-canary: {rollout['canary']} (rollout) x {per_pod['canary']}",
            rollout["canary"] * per_pod["canary"],
        ),
        (
            f"model-server-baseline: {rollout['baseline']} (rollout) x {per_pod['baseline']}",
            rollout["baseline"] * per_pod["baseline"],
        ),
        (
            f"ARC GPU runners (training, GPU jobs): {tf.arc_max_runners} x {tf.runner_gpus}",
            tf.arc_max_runners * tf.runner_gpus,
        ),
    ]
    idle = hpa["minReplicas"] * per_pod["stable"]
    for (kind, name), obj in objs.items():
        # Every other GPU Deployment (vLLM, infra/k8s/base/vllm) holds its GPUs at all times.
        if kind == "Deployment" and not name.startswith("model-server-"):
            per = gpus_of(obj["spec"]["template"]["spec"])
            if per:
                replicas = int(obj["spec"].get("replicas", 1))
                lines.append((f"Deployment/{name}: {replicas} x {per}", replicas * per))
                idle += replicas * per
        if kind in ("Job", "CronJob"):
            spec = obj["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else obj["spec"]
            lines.append(
                (
                    f"{kind}/{name}: parallelism {spec.get('parallelism', 1)}",
                    spec.get("parallelism", 1) * gpus_of(spec["template"]["spec"]),
                )
            )
    return Demand(lines, idle=idle)


def gpu_nodepool(env: str) -> dict[str, Any]:
    return rendered(env)[("NodePool", "gpu")]["spec"]


@pytest.mark.parametrize("env", ENVS)
def test_everything_that_can_hold_a_gpu_at_once_fits_in_the_gpu_pool(env):
    need = demand(env)
    limit = int(gpu_nodepool(env)["limits"][GPU])
    table = "\n".join(f"  {n:>3}  {what}" for what, n in need.lines)
    assert need.total <= limit, (
        f"{env}: workloads can hold {need.total} GPUs, the GPU pool has {limit}:\n{table}"
    )


@pytest.mark.parametrize("env", ENVS)
def test_gpu_nodepool_is_the_env_roots_gpu_pool(env):
    tf = terraform_env(env)
    pool = gpu_nodepool(env)
    requirements = {r["key"]: r for r in pool["template"]["spec"]["requirements"]}
    assert int(pool["limits"][GPU]) == tf.max_size * tf.gpus_per_instance, (
        f"{env}: NodePool gpu limit {pool['limits'][GPU]} != gpu_pool.max_size {tf.max_size} x "
        f"{tf.gpus_per_instance} GPU(s) per {tf.instance_types}"
    )
    assert requirements["node.kubernetes.io/instance-type"] == {
        "key": "node.kubernetes.io/instance-type", "operator": "In", "values": tf.instance_types,
    }  # fmt: skip
    assert requirements["karpenter.sh/capacity-type"]["values"] == (["spot"] if tf.spot else ["on-demand"])


@pytest.mark.parametrize("env", ENVS)
def test_a_track_uses_a_gpu_exactly_when_it_does_not_say_cpu_and_lands_on_the_matching_pool(env):
    objs = rendered(env)
    taint = {"key": GPU, "value": "true", "effect": "NoSchedule"}
    pool = objs[("NodePool", "gpu")]["spec"]["template"]
    assert taint in pool["spec"]["taints"]
    for track in ("stable", "canary", "baseline"):
        spec = objs[("Deployment", f"model-server-{track}")]["spec"]["template"]["spec"]
        device = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}.get("AIP_DEVICE", "auto")
        if gpus_of(spec):
            assert device != "cpu", f"{env} {track}: requests a GPU but AIP_DEVICE=cpu"
            assert spec["nodeSelector"].items() <= pool["metadata"]["labels"].items()
            assert {"key": GPU, "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
        else:
            assert device == "cpu", f"{env} {track}: no GPU but AIP_DEVICE={device} (say cpu)"
            cpu_pool = objs[("NodePool", "cpu")]["spec"]["template"]["metadata"]["labels"]
            assert spec["nodeSelector"].items() <= cpu_pool.items() and "tolerations" not in spec


def test_dev_serves_on_cpu_so_its_gpu_pool_is_empty_at_rest_and_the_pool_consolidates_to_zero():
    assert demand("dev").idle == 0
    for env in ENVS:
        disruption = gpu_nodepool(env)["disruption"]
        # Empty GPU nodes are removed (both policies remove empty nodes) after consolidateAfter.
        assert disruption["consolidationPolicy"] in ("WhenEmpty", "WhenEmptyOrUnderutilized")
        assert re.fullmatch(r"\d+[sm]", disruption["consolidateAfter"]), disruption
        for budget in disruption.get("budgets", []):
            if budget.get("nodes") == "0":
                assert "Empty" not in budget.get("reasons", ["Empty"]), (
                    f"{env}: a budget blocks removing empty GPU nodes"
                )
    dev_budgets = gpu_nodepool("dev")["disruption"]["budgets"]
    assert any(b.get("schedule") and b.get("duration") for b in dev_budgets), "dev: no working-hours budget"


# --------------------------------------------------------------------------------------- cost table
# On-demand list prices, USD per hour, eu-west-1 (AWS EC2 pricing page, checked 2026-11): the ceiling;
# spot is typically 30-60 % of it. infra/k8s/README.md's table is this function's output.
PRICE_PER_HOUR = {"g5.xlarge": 1.123, "g5.2xlarge": 1.353}


def cost_rows() -> list[str]:
    rows = []
    for env in ENVS:
        tf = terraform_env(env)
        need = demand(env)
        price = max(PRICE_PER_HOUR[t] for t in tf.instance_types) / tf.gpus_per_instance
        idle_nodes = -(-need.idle // tf.gpus_per_instance)
        max_nodes = tf.max_size
        rows.append(
            f"| {env} | {'/'.join(tf.instance_types)} {'spot' if tf.spot else 'on-demand'} | {need.idle} | "
            f"{max_nodes * tf.gpus_per_instance} | {idle_nodes * price * tf.gpus_per_instance:.2f} | "
            f"{max_nodes * price * tf.gpus_per_instance:.2f} |"
        )
    return rows


def test_the_readme_cost_table_is_what_the_manifests_and_env_roots_give():
    readme = (INFRA / "k8s" / "README.md").read_text()
    expected = cost_rows()
    missing = [row for row in expected if row not in readme]
    assert not missing, "infra/k8s/README.md's GPU cost table is stale; expected rows:\n" + "\n".join(
        expected
    )
