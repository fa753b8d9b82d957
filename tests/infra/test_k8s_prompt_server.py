"""The prompt server (infra/k8s/base/prompt-server): in every overlay, `aip serve` started without
MODEL_NAME and with `--prompts platform-assistant` under the overlay's environment, the model servers'
image, identity and hardening, no GPU, ready on /readyz, and reached on the serving hostname at
/v1/chat/completions and /v1/models; its objects pass the same offline schema validation.
The edge: the Gateway's path precedence, the registry aliases and vLLM/Milvus answering are proven
only on a cluster (infra/k8s/README.md, "Prompt server").
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.infra.test_gpu_capacity import demand, gpus_of
from tests.support.infra import INFRA
from tests.support.manifests import by_kind_name, render_overlay

pytestmark = pytest.mark.infra

ENVS = ["dev", "staging", "prod"]
PROMPT = "platform-assistant"
GPU = "nvidia.com/gpu"
OBJECTS = {("Deployment", "prompt-server"), ("Service", "prompt-server"), ("HTTPRoute", "prompt-server")}


@cache
def objects(env: str) -> dict[tuple[str, str], dict[str, Any]]:
    return by_kind_name(render_overlay(env))


@cache
def platform_env(env: str) -> dict[str, Any]:
    return dict(yaml.safe_load((INFRA.parent / "platform.yaml").read_text())["environments"][env])


def pod(env: str, name: str = "prompt-server") -> dict[str, Any]:
    return dict(objects(env)[("Deployment", name)]["spec"]["template"])


def container_env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: str(e["value"]) for e in container.get("env", [])}


def command(container: dict[str, Any]) -> list[str]:
    """The process the kubelet starts: the image's ENTRYPOINT (or `command`), then args with $(VAR)
    replaced by the container's env values."""
    values = container_env(container)
    entrypoint = container.get("command")
    if entrypoint is None:
        text = (INFRA.parent / "containers" / "serving.Containerfile").read_text()
        match = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", text, re.MULTILINE)
        assert match, "containers/serving.Containerfile: no exec-form ENTRYPOINT"
        entrypoint = yaml.safe_load(match.group(1))
    args = [re.sub(r"\$\((\w+)\)", lambda m: values[m.group(1)], a) for a in container.get("args", [])]
    return [*entrypoint, *args]


@pytest.mark.parametrize("env", ENVS)
def test_every_overlay_renders_the_prompt_server_in_the_serving_namespace(env: str) -> None:
    objs = objects(env)
    assert OBJECTS | {("PodMonitor", "prompt-server")} <= objs.keys()
    namespace = objs[("Deployment", "model-server-stable")]["metadata"]["namespace"]
    for key in OBJECTS:
        assert objs[key]["metadata"]["namespace"] == namespace == platform_env(env)["kubernetes_namespace"]
        assert objs[key]["metadata"]["labels"]["environment"] == env


@pytest.mark.parametrize("env", ENVS)
def test_prompt_server_runs_aip_serve_for_the_prompt_without_model_name(env: str) -> None:
    """The command as `aip serve` parses it: the overlay's environment, the named prompt, no model
    named (flags or MODEL_* variables), so pipelines/serving/server.py load_prompts serves it."""
    from pipelines.cli.main import build_parser
    from pipelines.serving.contract import ENV_VARS, resolve

    [container] = pod(env)["spec"]["containers"]
    argv = command(container)
    assert argv[:2] == ["aip", "serve"], argv
    args = build_parser().parse_args(argv[1:])
    assert (args.env, args.prompts, args.no_prompts) == (env, PROMPT, False)
    assert (args.models, args.version, args.label) == (None, None, None)
    envs = container_env(container)
    assert not {e for e in envs if e.startswith("MODEL_")}, f"{env}: a MODEL_* variable turns prompts off"
    assert envs["AIP_ENV"] == env  # set by the overlay, as for the model servers
    contract = resolve(
        models=args.models,
        version=args.version,
        label=args.label,
        env=args.env,
        device=args.device,
        environ=envs,
    )
    assert (contract.models, contract.version, contract.label) == ([], None, "stable")
    assert (contract.env, contract.device) == (env, "cpu")
    assert contract.origin["models"] == ENV_VARS["models"][0]  # the default: no MODEL_NAME read
    assert (INFRA.parent / "prompts" / PROMPT / "prompt.yaml").is_file()
    # REST only, on the port the container names `http`.
    assert (args.host, args.rest_port, args.grpc_port) == ("0.0.0.0", 8501, 0)
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8501}


@pytest.mark.parametrize("env", ENVS)
def test_prompt_server_is_ready_on_readyz_and_alive_on_healthz(env: str) -> None:
    [container] = pod(env)["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    # Warm-up loads the embedder and the index and calls vLLM once: minutes allowed, as for the models.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600


@pytest.mark.parametrize("env", ENVS)
def test_prompt_server_holds_no_gpu_and_runs_on_the_cpu_pool(env: str) -> None:
    objs = objects(env)
    spec = pod(env)["spec"]
    [container] = spec["containers"]
    assert GPU not in {**container["resources"].get("requests", {}), **container["resources"]["limits"]}
    assert gpus_of(spec) == 0
    cpu_pool = objs[("NodePool", "cpu")]["spec"]["template"]["metadata"]["labels"]
    assert spec["nodeSelector"].items() <= cpu_pool.items() and "tolerations" not in spec
    assert container_env(container)["AIP_DEVICE"] == "cpu"
    assert not any("prompt-server" in what for what, _n in demand(env).lines)


@pytest.mark.parametrize("env", ENVS)
def test_prompt_server_has_the_model_servers_image_identity_and_hardening(env: str) -> None:
    model, prompt = pod(env, "model-server-stable")["spec"], pod(env)["spec"]
    [mc], [pc] = model["containers"], prompt["containers"]
    assert pc["image"] == mc["image"] and "@sha256:" in pc["image"]
    for key in ("serviceAccountName", "automountServiceAccountToken", "securityContext"):
        assert prompt[key] == model[key], key
    assert pc["securityContext"] == mc["securityContext"]
    assert pc["volumeMounts"] == mc["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    # The registry is reached as the model servers reach it: platform.yaml's tracking_uri for AIP_ENV.
    registry_vars = {k: v for k, v in container_env(mc).items() if k.startswith(("AIP_ENV", "MLFLOW_"))}
    assert registry_vars.items() <= container_env(pc).items()
    assert set(pc["resources"]["requests"]) == {"cpu", "memory"} and "memory" in pc["resources"]["limits"]


@pytest.mark.parametrize("env", ENVS)
def test_route_sends_the_chat_paths_on_the_serving_hostname_to_the_prompt_server(env: str) -> None:
    objs = objects(env)
    route, models = objs[("HTTPRoute", "prompt-server")]["spec"], objs[("HTTPRoute", "model-server")]["spec"]
    assert route["parentRefs"] == models["parentRefs"]
    serving = urlsplit(platform_env(env)["serving_endpoint"]).hostname
    assert route["hostnames"] == models["hostnames"] == [serving]
    [rule] = route["rules"]
    # Exact matches: the Gateway prefers them over the model-server route's /v1/ prefix.
    assert [m["path"] for m in rule["matches"]] == [
        {"type": "Exact", "value": "/v1/chat/completions"},
        {"type": "Exact", "value": "/v1/models"},
    ]
    assert [m["path"]["type"] for r in models["rules"] for m in r["matches"]] == ["PathPrefix"]
    [ref] = rule["backendRefs"]
    assert (ref["kind"], ref["name"]) == ("Service", "prompt-server")
    service = objs[("Service", "prompt-server")]["spec"]
    [port] = [p for p in service["ports"] if p["port"] == ref["port"]]
    assert port["targetPort"] == "http"
    assert service["selector"].items() <= pod(env)["metadata"]["labels"].items()
    for track in ("stable", "canary", "baseline"):  # no model-server Service reaches the prompt server
        selector = objs[("Service", f"model-server-{track}")]["spec"]["selector"]
        assert not selector.items() <= pod(env)["metadata"]["labels"].items()


@pytest.mark.parametrize("env", ENVS)
def test_prompt_server_may_call_vllm_and_is_scraped_by_prometheus(env: str) -> None:
    objs = objects(env)
    labels = pod(env)["metadata"]["labels"]
    policy = objs[("NetworkPolicy", "vllm")]
    assert policy["metadata"]["namespace"] == objs[("Deployment", "prompt-server")]["metadata"]["namespace"]
    peers = [p for rule in policy["spec"]["ingress"] for p in rule["from"]]
    assert any(
        "namespaceSelector" not in p and p["podSelector"].get("matchLabels", {}).items() <= labels.items()
        for p in peers
        if "podSelector" in p
    )
    generator = urlsplit(platform_env(env)["generator_endpoint"]).hostname
    assert generator == f"vllm.{policy['metadata']['namespace']}.svc.cluster.local"
    monitor = objs[("PodMonitor", "prompt-server")]["spec"]
    assert monitor["selector"]["matchLabels"].items() <= labels.items()
    assert [(e["port"], e["path"]) for e in monitor["podMetricsEndpoints"]] == [("http", "/metrics")]


def test_overlays_differ_only_in_environment_and_size() -> None:
    """Each overlay sets its own AIP_ENV; prod runs two replicas, dev and staging one."""
    replicas = {env: objects(env)[("Deployment", "prompt-server")]["spec"]["replicas"] for env in ENVS}
    assert replicas == {"dev": 1, "staging": 1, "prod": 2}
    assert len({container_env(pod(env)["spec"]["containers"][0])["AIP_ENV"] for env in ENVS}) == 3


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        ("route['spec']['rules'][0]['matches'][0]['path']['type'] = 'Exactly'", "HTTPRoute/prompt-server"),
        (
            "deploy['spec']['template']['spec']['containers'][0]['readinessProbe']['httpGet']['port'] = [8501]",
            "Deployment/prompt-server",
        ),
        ("service['spec']['ports'][0]['port'] = 'http'", "Service/prompt-server"),
    ],
    ids=["route-path-type", "probe-port-wrong-type", "service-port-wrong-type"],
)
def test_schema_validation_covers_the_prompt_server(tools_python: Any, mutation: str, expected: str) -> None:
    """Every overlay's prompt-server objects are validated (clean), and a broken one is reported."""
    code = f"""
import json, sys, yaml
sys.path.insert(0, {str(INFRA / "k8s" / "schemas")!r})
import infra_check, validate
text = infra_check.kustomize(infra_check.INFRA / 'k8s' / 'overlays' / 'prod')
docs = list(yaml.safe_load_all(text))
find = lambda kind: next(d for d in docs if d['kind'] == kind and d['metadata']['name'] == 'prompt-server')
route, deploy, service = find('HTTPRoute'), find('Deployment'), find('Service')
{mutation}
print(json.dumps({{"clean": validate.validate_manifests(text), "broken": validate.validate_manifests(yaml.safe_dump_all(docs))}}))
"""
    result = tools_python(code)
    assert result["clean"] == []
    assert any(e.startswith(expected) for e in result["broken"]), result["broken"]
