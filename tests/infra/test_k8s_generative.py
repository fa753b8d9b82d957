"""The generative endpoints' infrastructure: vLLM (infra/k8s/base/vllm) and the Milvus Helm release
(infra/k8s/platform/releases.yaml + values/milvus*.yaml) render, fit the GPU pool and agree with
platform.yaml's generator_endpoint, generator_model, vector_store and milvus_uri per environment.
The edge: no cluster, image registry or Helm repository here, so the vLLM image tag, the chart's
templates and the model download are proven only by an apply (infra/README.md).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.infra.test_gpu_capacity import demand, gpu_nodepool, gpus_of
from tests.support.infra import INFRA
from tests.support.manifests import by_kind_name, render_overlay

pytestmark = pytest.mark.infra

ENVS = ["dev", "staging", "prod"]
PLATFORM = INFRA / "k8s" / "platform"
GPU = "nvidia.com/gpu"
GPU_TAINT_TOLERATION = {"key": GPU, "operator": "Exists", "effect": "NoSchedule"}
EXACT_TAG = re.compile(r"^[a-z0-9./_-]+:v\d+\.\d+\.\d+$")
CPU_SERVING = {"dev"}  # dev runs vLLM on the CPU pool (its one GPU is the training runner's)
MILVUS_MODE = {"dev": False, "staging": False, "prod": True}  # cluster.enabled


@cache
def objects(env: str) -> dict[tuple[str, str], dict[str, Any]]:
    return by_kind_name(render_overlay(env))


@cache
def platform_env(env: str) -> dict[str, Any]:
    return dict(yaml.safe_load((INFRA.parent / "platform.yaml").read_text())["environments"][env])


def vllm_pod(env: str) -> dict[str, Any]:
    return dict(objects(env)[("Deployment", "vllm")]["spec"]["template"])


def container_env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: str(e["value"]) for e in container.get("env", [])}


def expanded_args(container: dict[str, Any]) -> list[str]:
    """The args as the kubelet runs them: $(VAR) replaced by the container's env values."""
    values = container_env(container)
    return [re.sub(r"\$\((\w+)\)", lambda m: values[m.group(1)], arg) for arg in container["args"]]


def _selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items() and not selector.get("matchExpressions")


# ------------------------------------------------------------------------------------------- vLLM


@pytest.mark.parametrize("env", ENVS)
def test_vllm_serves_the_openai_api_on_8000_and_is_ready_on_health(env):
    pod = vllm_pod(env)
    [container] = pod["spec"]["containers"]
    args = expanded_args(container)
    assert container["command"] == ["vllm", "serve"]
    flags = dict(zip(args[1::2], args[2::2], strict=False))
    assert flags["--port"] == "8000" and flags["--host"] == "0.0.0.0"
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", args[0]), f"{env}: model {args[0]!r} is not a HF repository id"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}, probe
    # The first start downloads the weights: the startup probe allows minutes, not seconds.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600
    image = container["image"]
    assert EXACT_TAG.match(image), f"{env}: vLLM image {image!r} is not pinned to an exact vX.Y.Z tag"


@pytest.mark.parametrize("env", ENVS)
def test_vllm_runs_unprivileged_with_every_cache_on_a_volume(env):
    pod = vllm_pod(env)["spec"]
    [container] = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    variables = container_env(container)
    for var in ("HF_HOME", "HOME", "XDG_CACHE_HOME", "VLLM_CACHE_ROOT"):
        assert any(variables[var].startswith(path) for path in mounts), f"{env}: {var} is not on a volume"
    assert {"/tmp", "/dev/shm"} <= mounts.keys()
    # The model cache is the PVC, so a restart does not download the weights again.
    models = volumes[mounts[next(p for p in mounts if variables["HF_HOME"].startswith(p))]]
    claim = models["persistentVolumeClaim"]["claimName"]
    pvc = objects(env)[("PersistentVolumeClaim", claim)]["spec"]
    assert pvc["accessModes"] == ["ReadWriteOnce"] and pvc["storageClassName"] == "gp3"
    assert ("StorageClass", pvc["storageClassName"]) in objects(env)
    # ReadWriteOnce: one pod, and the old one goes before the new one starts.
    deployment = objects(env)[("Deployment", "vllm")]["spec"]
    assert deployment["replicas"] == 1 and deployment["strategy"] == {"type": "Recreate"}
    limits, requests = container["resources"]["limits"], container["resources"]["requests"]
    assert "memory" in limits and {"cpu", "memory"} <= requests.keys()


@pytest.mark.parametrize("env", ENVS)
def test_vllm_runs_on_the_gpu_pool_except_in_dev_which_uses_the_cpu_pool(env):
    objs = objects(env)
    spec = vllm_pod(env)["spec"]
    [container] = spec["containers"]
    if env in CPU_SERVING:
        assert gpus_of(spec) == 0 and "tolerations" not in spec
        cpu_pool = objs[("NodePool", "cpu")]["spec"]["template"]["metadata"]["labels"]
        assert spec["nodeSelector"].items() <= cpu_pool.items()
        assert "cpu" in container["image"], container["image"]
        assert "--gpu-memory-utilization" not in container["args"]
    else:
        assert gpus_of(spec) == 1
        pool = objs[("NodePool", "gpu")]["spec"]["template"]
        assert spec["nodeSelector"].items() <= pool["metadata"]["labels"].items()
        assert GPU_TAINT_TOLERATION in spec["tolerations"]
        assert "cpu" not in container["image"].rsplit("/", 1)[-1]


@pytest.mark.parametrize("env", ENVS)
def test_the_gpu_pool_holds_vllm_beside_everything_else(env):
    """tests/infra/test_gpu_capacity.py's sum plus vLLM's GPUs stays within the NodePool's limit."""
    need = demand(env)
    counted = any("vllm" in what.lower() for what, _n in need.lines)
    deployment = objects(env)[("Deployment", "vllm")]["spec"]
    vllm = deployment["replicas"] * gpus_of(deployment["template"]["spec"])
    total = need.total + (0 if counted else vllm)
    limit = int(gpu_nodepool(env)["limits"][GPU])
    assert total <= limit, f"{env}: {need.total} GPUs + vLLM {vllm} > GPU pool limit {limit}"
    assert vllm == (0 if env in CPU_SERVING else 1)


@pytest.mark.parametrize("env", ENVS)
def test_vllm_service_podmonitor_and_networkpolicy_select_its_pods(env):
    objs = objects(env)
    labels = vllm_pod(env)["metadata"]["labels"]
    service = objs[("Service", "vllm")]["spec"]
    assert service["type"] == "ClusterIP" and _selected({"matchLabels": service["selector"]}, labels)
    assert [(p["port"], p["targetPort"]) for p in service["ports"]] == [(8000, "http")]
    monitor = objs[("PodMonitor", "vllm")]["spec"]
    assert _selected(monitor["selector"], labels)
    assert [(e["port"], e["path"]) for e in monitor["podMetricsEndpoints"]] == [("http", "/metrics")]
    # The model server's PodMonitor does not scrape vLLM twice.
    assert not _selected(objs[("PodMonitor", "model-server")]["spec"]["selector"], labels)
    policy = objs[("NetworkPolicy", "vllm")]["spec"]
    assert _selected(policy["podSelector"], labels) and policy["policyTypes"] == ["Ingress"]
    [rule] = policy["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    sources = rule["from"]
    assert {"podSelector": {}} in sources  # its own namespace: the serving pods
    kps = next(r for r in releases() if r["name"] == "kube-prometheus-stack")
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": kps["namespace"]}}
    } in sources
    # No route from outside the cluster.
    routes = [o for (k, _), o in objs.items() if k == "HTTPRoute"]
    assert not any(
        ref["name"] == "vllm" for r in routes for rule in r["spec"]["rules"] for ref in rule["backendRefs"]
    )


@pytest.mark.parametrize("env", ENVS)
def test_platform_yaml_points_the_generator_at_the_vllm_service_and_model(env):
    objs = objects(env)
    config = platform_env(env)
    url = urlsplit(config["generator_endpoint"])
    service = objs[("Service", "vllm")]
    assert url.scheme == "http" and url.path == "/v1"
    assert (
        url.hostname == f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"
    )
    assert url.port in {p["port"] for p in service["spec"]["ports"]}
    [container] = vllm_pod(env)["spec"]["containers"]
    args = expanded_args(container)
    served = args[args.index("--served-model-name") + 1]
    assert config["generator_model"] == served, f"{env}: platform.yaml generator_model != vLLM's served name"
    # In-cluster, no key: the NetworkPolicy is the access control.
    assert config.get("generator_api_key_env") is None


# ------------------------------------------------------------------------------------------ Milvus


@cache
def releases() -> list[dict[str, Any]]:
    return list(yaml.safe_load((PLATFORM / "releases.yaml").read_text())["releases"])


def merged(base: Any, override: Any) -> Any:
    """Helm's values merge: maps merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{k: merged(base.get(k), v) for k, v in override.items()}}
    return override


def release_values(name: str, env: str) -> dict[str, Any]:
    """What Terraform passes for a release in an environment: values, then values/<name>.<env>.yaml."""
    release = next(r for r in releases() if r["name"] == name)
    base = PLATFORM / release["values"]
    values = yaml.safe_load(base.read_text())
    per_env = base.parent / f"{name}.{env}.yaml"
    return dict(merged(values, yaml.safe_load(per_env.read_text())) if per_env.exists() else values)


def test_every_per_environment_values_file_belongs_to_a_release_and_an_environment():
    names = {r["name"] for r in releases()}
    common = {(PLATFORM / r["values"]).name for r in releases()}
    for path in sorted((PLATFORM / "values").glob("*.yaml")):
        if path.name in common:
            continue
        name, _, env = path.stem.rpartition(".")
        assert name in names and env in ENVS, (
            f"infra/k8s/platform/values/{path.name}: expected <release>.<dev|staging|prod>.yaml"
        )
        assert isinstance(yaml.safe_load(path.read_text()), dict), path.name


def test_terraform_passes_the_environments_values_file_after_the_common_one():
    text = (INFRA / "modules" / "aws-platform" / "releases.tf").read_text()
    assert '${name}.${var.environment}.yaml"' in text
    # The common file first, then the environment's (Helm merges later values over earlier ones).
    assert re.search(
        r"concat\(\s*\[file\(\"\$\{local\.releases_dir\}/\$\{r\.values\}\"\)\],\s*"
        r"fileexists\(local\.release_env_values\[name\]\)",
        text,
    ), "infra/modules/aws-platform/releases.tf: values are not [common, <name>.<env>.yaml]"
    assert re.search(r"\n\s*values\s*=\s*local\.release_values\[each\.key\]\n", text)


def test_milvus_is_a_pinned_release_with_persistence_on_the_default_storageclass():
    [milvus] = [r for r in releases() if r["name"] == "milvus"]
    assert milvus["repository"] == "https://zilliztech.github.io/milvus-helm" and milvus["chart"] == "milvus"
    assert re.fullmatch(r"\d+\.\d+\.\d+", milvus["version"])
    [storage_class] = [name for kind, name in objects("prod") if kind == "StorageClass"]
    for env in ENVS:
        values = release_values("milvus", env)
        assert values["minio"]["persistence"]["enabled"] is True
        assert values["minio"]["persistence"]["storageClass"] == storage_class
        assert values["etcd"]["persistence"]["storageClass"] == storage_class
        assert values["metrics"]["serviceMonitor"]["enabled"] is True
        assert values["service"]["type"] == "ClusterIP"


@pytest.mark.parametrize("env", ENVS)
def test_milvus_is_standalone_in_dev_and_staging_and_a_cluster_in_prod(env):
    values = release_values("milvus", env)
    assert values["cluster"]["enabled"] is MILVUS_MODE[env]
    if MILVUS_MODE[env]:
        assert values["etcd"]["replicaCount"] == 3 and values["minio"]["mode"] == "distributed"
        assert values["queryNode"]["replicas"] >= 2 and values["proxy"]["replicas"] >= 2
    else:
        assert values["etcd"]["replicaCount"] == 1 and values["minio"]["mode"] == "standalone"
        assert values["standalone"]["persistence"]["enabled"] is True


@pytest.mark.parametrize("env", ENVS)
def test_platform_yaml_uses_milvus_at_the_releases_service(env):
    config = platform_env(env)
    [milvus] = [r for r in releases() if r["name"] == "milvus"]
    values = release_values("milvus", env)
    url = urlsplit(config["milvus_uri"])
    assert config["vector_store"] == "milvus"
    service = values.get("fullnameOverride", milvus["name"])
    assert url.scheme == "http" and url.hostname == f"{service}.{milvus['namespace']}.svc.cluster.local"
    assert url.port == values["service"]["port"]


def test_local_keeps_the_embedded_defaults():
    local = platform_env("local")
    for key in ("generator_endpoint", "generator_model", "milvus_uri"):
        assert local.get(key) is None, key
    assert local.get("vector_store", "faiss") == "faiss"
