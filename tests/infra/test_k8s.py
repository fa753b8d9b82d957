"""Kubernetes: every overlay renders with kustomize and validates against the schemas; the model
server's GPU placement, probes, traffic split and disruption guards hold in every environment."""

from __future__ import annotations

import pytest
import yaml

from pipelines.config import load_platform
from tests.support.infra import INFRA
from tests.support.manifests import by_kind_name, render_overlay
from tests.support.repo import REPO_ROOT

pytestmark = pytest.mark.infra

ENVS = ["dev", "staging", "prod"]
MODEL = "tumor-classifier"


def render(env: str) -> dict[tuple[str, str], dict]:
    return by_kind_name(render_overlay(env))


@pytest.fixture(scope="module", params=ENVS)
def rendered(request):
    return request.param, render(request.param)


def test_every_overlay_renders_the_serving_and_mlflow_objects(rendered):
    env, objs = rendered
    expected = {
        ("Deployment", "model-server-stable"),
        ("Deployment", "model-server-canary"),
        ("Deployment", "model-server-baseline"),
        ("Service", "model-server-stable"),
        ("Service", "model-server-canary"),
        ("Service", "model-server-baseline"),
        ("HTTPRoute", "model-server"),
        ("PodDisruptionBudget", "model-server-stable"),
        ("HorizontalPodAutoscaler", "model-server-stable"),
        ("PodMonitor", "model-server"),
        # The cluster's platform objects (infra/k8s/platform; tests/infra/test_k8s_platform.py).
        ("NodePool", "cpu"),
        ("NodePool", "gpu"),
        ("EC2NodeClass", "default"),
        ("StorageClass", "gp3"),
        ("GatewayClass", "envoy"),
        ("Gateway", "platform-gateway"),
    }
    assert expected <= objs.keys()
    # One MLflow registry for every environment (platform.yaml's tracking_uri): it runs with prod only.
    mlflow = {
        ("Deployment", "mlflow"),
        ("Service", "mlflow"),
        ("HTTPRoute", "mlflow"),
        ("ExternalSecret", "mlflow-backend-store"),
        ("SecretStore", "aws-secrets-manager"),
    }
    assert (mlflow <= objs.keys()) == (env == "prod")
    assert not (mlflow & objs.keys()) or env == "prod"
    assert all(o["metadata"]["labels"]["environment"] == env for o in objs.values())


# dev serves on CPU (its one GPU is the training runner's: tests/infra/test_gpu_capacity.py).
CPU_SERVING = {"dev"}


@pytest.mark.parametrize("track", ["stable", "canary", "baseline"])
def test_model_server_runs_on_its_envs_pool_and_is_ready_on_the_model_status_endpoint(rendered, track):
    env, objs = rendered
    spec = objs[("Deployment", f"model-server-{track}")]["spec"]["template"]["spec"]
    container = spec["containers"][0]
    envs = {e["name"]: e["value"] for e in container["env"]}
    if env in CPU_SERVING:
        assert "nvidia.com/gpu" not in {
            **container["resources"]["requests"],
            **container["resources"]["limits"],
        }
        assert spec["nodeSelector"] == {"node-pool-kind": "cpu"} and "tolerations" not in spec
        assert envs["AIP_DEVICE"] == "cpu"
    else:
        assert container["resources"]["requests"]["nvidia.com/gpu"] == "1"
        assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
        assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
        assert "AIP_DEVICE" not in envs  # auto: the GPU torch sees
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8501, "grpc": 8500}
    probe = container["readinessProbe"]["httpGet"]
    assert probe["path"] == f"/v1/models/{MODEL}" and probe["port"] == "http"


@pytest.mark.parametrize("track", ["stable", "canary", "baseline"])
def test_model_server_runs_aip_serve_under_the_server_contract(rendered, track):
    """Fixed args; what to serve comes from the variables `aip serve` reads (pipelines/serving/contract.py),
    and they resolve to this track; MODEL_VERSION is left to the deploy backend, which pins that name."""
    from pipelines.deploy.backends import VERSION_ENV
    from pipelines.serving.contract import ENV_VARS, resolve

    env, objs = rendered
    deployment = objs[("Deployment", f"model-server-{track}")]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["serve", "--host", "0.0.0.0", "--rest-port", "8501", "--grpc-port", "8500"]
    envs = {e["name"]: e["value"] for e in container["env"]}
    read_by_server = {var for _flag, var in ENV_VARS.values()}
    assert VERSION_ENV in read_by_server
    contract_vars = {e for e in envs if e in read_by_server or e.startswith("MODEL_")}
    device = {"AIP_DEVICE"} if env in CPU_SERVING else set()
    assert contract_vars == {"MODEL_NAME", "MODEL_LABEL", "AIP_ENV"} | device, (
        "MODEL_VERSION is pinned by the backend"
    )
    assert envs == {**envs, "MODEL_LABEL": track, "AIP_ENV": env, "MODEL_NAME": MODEL}
    pinned = resolve(environ={**envs, VERSION_ENV: "7"})
    assert (pinned.models, pinned.version, pinned.label, pinned.env) == ([MODEL], "7", track, env)
    assert pinned.device == ("cpu" if env in CPU_SERVING else "auto")
    # The gRPC liveness probe calls grpc.health.v1 on the server's --grpc-port.
    assert container["livenessProbe"]["grpc"]["port"] == 8500
    # canary and baseline serve a pinned version only: zero pods until the backend pins one.
    assert (deployment["spec"]["replicas"] == 0) == (track != "stable")


def test_httproute_splits_traffic_between_stable_canary_and_baseline_services_all_on_stable(rendered):
    env, objs = rendered
    route = objs[("HTTPRoute", "model-server")]
    refs = route["spec"]["rules"][0]["backendRefs"]
    assert [(r["name"], r["weight"]) for r in refs] == [
        ("model-server-stable", 100),
        ("model-server-canary", 0),
        ("model-server-baseline", 0),
    ]
    domain = load_platform(REPO_ROOT / "platform.yaml").organisation.domain
    assert route["spec"]["hostnames"] == [f"models.{env}.{domain}"]
    for ref in refs:
        service = objs[("Service", ref["name"])]
        deployment = objs[("Deployment", ref["name"])]
        assert (
            service["spec"]["selector"].items()
            <= deployment["spec"]["template"]["metadata"]["labels"].items()
        )
        assert ref["port"] in {p["port"] for p in service["spec"]["ports"]}


def test_disruption_budget_and_autoscaler_guard_the_stable_track(rendered):
    _env, objs = rendered
    pdb = objs[("PodDisruptionBudget", "model-server-stable")]["spec"]
    labels = objs[("Deployment", "model-server-stable")]["spec"]["template"]["metadata"]["labels"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    hpa = objs[("HorizontalPodAutoscaler", "model-server-stable")]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "model-server-stable"
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]


def test_baseline_track_is_scaled_to_zero_between_deploys_and_selects_only_its_own_pods(rendered):
    _env, objs = rendered
    baseline = objs[("Deployment", "model-server-baseline")]
    assert baseline["spec"]["replicas"] == 0
    selector = objs[("Service", "model-server-baseline")]["spec"]["selector"]
    assert selector["app.kubernetes.io/component"] == "baseline"
    for other in ("stable", "canary"):
        labels = objs[("Deployment", f"model-server-{other}")]["spec"]["template"]["metadata"]["labels"]
        assert not selector.items() <= labels.items()


def test_hostnames_match_platform_yaml():
    platform = yaml.safe_load((INFRA.parent / "platform.yaml").read_text())["environments"]
    for env in ENVS:
        objs = render(env)
        serving = platform[env]["serving_endpoint"].split("://", 1)[1].split("/")[0]
        assert objs[("HTTPRoute", "model-server")]["spec"]["hostnames"] == [serving]
    tracking = platform["prod"]["tracking_uri"].split("://", 1)[1].split("/")[0]
    assert render("prod")[("HTTPRoute", "mlflow")]["spec"]["hostnames"] == [tracking]


def test_prod_runs_more_replicas_than_dev_and_every_environment_pins_the_image_by_digest():
    dev, prod = render("dev"), render("prod")
    assert (
        prod[("HorizontalPodAutoscaler", "model-server-stable")]["spec"]["minReplicas"]
        > dev[("HorizontalPodAutoscaler", "model-server-stable")]["spec"]["minReplicas"]
    )
    for objs in (dev, prod):
        pod = objs[("Deployment", "model-server-stable")]["spec"]["template"]["spec"]
        image = pod["containers"][0]["image"]
        name, _, digest = image.partition("@sha256:")
        assert ":" not in name.rsplit("/", 1)[-1] and len(digest) == 64, image


@pytest.mark.slow
def test_every_overlay_validates_against_the_kubernetes_schemas(infra_check):
    proc = infra_check("k8s")
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_every_overlay_validates_built_in_kinds_and_custom_resources(tools_python):
    """infra/k8s/schemas/validate.py in the tools venv: kubernetes-validate (strict) for built-in kinds,
    the vendored CRD schemas for the rest; every overlay is clean."""
    code = f"""
import json, sys
sys.path.insert(0, {str(INFRA / "k8s" / "schemas")!r})
import infra_check, validate
print(json.dumps({{o.name: validate.validate_manifests(infra_check.kustomize(o), infra_check.KUBERNETES_VERSION)
                  for o in sorted((infra_check.INFRA / 'k8s' / 'overlays').iterdir())}}))
"""
    assert tools_python(code) == {env: [] for env in ENVS}


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        ("route['spec']['rules'][0]['backendRefs'][1]['weight'] = -5", "HTTPRoute/model-server"),
        (
            "deploy['spec']['template']['spec']['containers'][0]['readinessProbe']['httpGet']['port'] = [8501]",
            "Deployment/model-server-stable",
        ),
        ("deploy['spec']['replicaz'] = 2", "Deployment/model-server-stable"),
        ("sc['parameters'] = 'gp3'", "StorageClass/gp3"),
        ("pool['spec']['template']['spec']['taints'][0]['effect'] = 'Never'", "NodePool/gpu"),
    ],
    ids=[
        "negative-weight",
        "probe-port-wrong-type",
        "unknown-field",
        "storageclass-parameters",
        "nodepool-taint",
    ],
)
def test_schema_validation_rejects_a_broken_manifest(tools_python, mutation, expected):
    code = f"""
import json, sys, yaml
sys.path.insert(0, {str(INFRA / "k8s" / "schemas")!r})
import infra_check, validate
text = infra_check.kustomize(infra_check.INFRA / 'k8s' / 'overlays' / 'staging')
docs = list(yaml.safe_load_all(text))
find = lambda kind, name: next(d for d in docs if d['kind'] == kind and d['metadata']['name'] == name)
route, deploy = find('HTTPRoute', 'model-server'), find('Deployment', 'model-server-stable')
sc, pool = find('StorageClass', 'gp3'), find('NodePool', 'gpu')
{mutation}
print(json.dumps({{"clean": validate.validate_manifests(text), "broken": validate.validate_manifests(yaml.safe_dump_all(docs))}}))
"""
    result = tools_python(code)
    assert result["clean"] == []
    assert any(e.startswith(expected) for e in result["broken"]), result["broken"]
