"""The cluster's platform objects (infra/k8s/platform, the PodMonitor, MLflow's secret sync): they render
in every overlay, validate against the vendored CRD schemas, agree with each other (Gateway and
HTTPRoutes, PodMonitor and pods, StorageClass and Prometheus' PVC, ExternalSecret and Deployment), the
PrometheusRules are the current rule files and pass promtool, and the pinned Helm release list is well
formed. The edge: no cluster, Helm repository or CRD download here; the built-in kinds' schema check is
in test_k8s.py (tools venv).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.infra import INFRA
from tests.support.manifests import by_kind_name, k8s_script, render_overlay

pytestmark = pytest.mark.infra

ENVS = ["dev", "staging", "prod"]
K8S = INFRA / "k8s"
PLATFORM = K8S / "platform"
RELEASE_FIELDS = ("name", "namespace", "repository", "chart", "version", "values")
EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+$")  # no ranges, no pre-releases
REQUIRED_RELEASES = {"karpenter", "kube-prometheus-stack", "envoy-gateway", "external-secrets", "fluent-bit"}


@cache
def objects(env: str) -> dict[tuple[str, str], dict[str, Any]]:
    return by_kind_name(render_overlay(env))


@pytest.fixture(params=ENVS)
def env(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def custom_problems(docs: list[dict[str, Any]]) -> list[str]:
    validate = k8s_script("schemas/validate.py")
    return [p for d in docs for p in validate.validate_document(d, builtin=False)]


# ------------------------------------------------------------------------------------- schemas


def test_every_custom_resource_validates_against_its_vendored_schema(env):
    docs = list(objects(env).values())
    kinds = {d["kind"] for d in docs}
    assert {"NodePool", "EC2NodeClass", "Gateway", "GatewayClass", "PodMonitor", "PrometheusRule"} <= kinds
    assert custom_problems(docs) == []


BROKEN = [
    ("NodePool", "gpu", "spec.template.spec.taints.0.effect = 'NoScheduel'", "NodePool/gpu", "taints/0/effect"),
    ("NodePool", "gpu", "spec.limits['nvidia.com/gpu'] = 'lots'", "NodePool/gpu", "limits/nvidia.com/gpu"),
    ("NodePool", "gpu", "spec.disruption.consolidateAfterr = '5m'", "NodePool/gpu", "disruption"),
    ("EC2NodeClass", "default", "spec.metadataOptions.httpTokens = 'sometimes'", "EC2NodeClass/default", "httpTokens"),  # pragma: allowlist secret (a field name)
    ("Gateway", "platform-gateway", "spec.listeners.0.port = 0", "Gateway/platform-gateway", "listeners/0/port"),
    ("GatewayClass", "envoy", "spec.controllerName = 'envoy'", "GatewayClass/envoy", "controllerName"),
    ("PodMonitor", "model-server", "spec.podMetricsEndpoints.0.portt = 'http'", "PodMonitor/model-server", "podMetricsEndpoints/0"),
    ("PrometheusRule", "aip-platform-rules", "del spec.groups.0.rules.0.expr", "PrometheusRule/aip-platform-rules", "rules/0"),
    ("ExternalSecret", "mlflow-backend-store", "spec.target.creationPolicy = 'Always'", "ExternalSecret/mlflow-backend-store", "creationPolicy"),
    ("ExternalSecret", "mlflow-backend-store", "del spec.dataFrom.0.extract.key", "ExternalSecret/mlflow-backend-store", "dataFrom/0/extract"),
    ("SecretStore", "aws-secrets-manager", "spec.provider.aws.service = 'S3'", "SecretStore/aws-secrets-manager", "service"),
]  # fmt: skip


def _mutate(doc: dict[str, Any], mutation: str) -> None:
    """Apply 'a.b.0.c = value' or 'del a.b.0.c' (dots and [..] keys) to a copy of a rendered object."""
    delete = mutation.startswith("del ")
    path, _, value = mutation.removeprefix("del ").partition(" = ")
    keys = [k.strip("[]'") for k in re.findall(r"\['[^']+'\]|[^.\[\]]+", path)]
    target: Any = doc
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last: Any = int(keys[-1]) if isinstance(target, list) else keys[-1]
    if delete:
        del target[last]
    else:
        target[last] = eval(value)  # a literal from the table above


@pytest.mark.parametrize(("kind", "name", "mutation", "who", "where"), BROKEN, ids=[b[2] for b in BROKEN])
def test_schema_validation_rejects_a_broken_custom_resource(kind, name, mutation, who, where):
    doc = copy.deepcopy(objects("prod")[(kind, name)])
    assert custom_problems([doc]) == []
    _mutate(doc, mutation)
    problems = custom_problems([doc])
    assert any(p.startswith(who) and where in p for p in problems), problems


def test_a_custom_resource_without_a_vendored_schema_is_an_error_not_a_pass():
    # (Kueue's ClusterQueue was the example until cluster training vendored it: any unvendored kind.)
    doc = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "q"}}
    assert custom_problems([doc]) == [
        "Widget/q: no vendored schema for example.com/v1 Widget: add its CRD to infra/k8s/schemas/crds/"
    ]


def test_vendored_json_schemas_are_current_with_the_crd_excerpts():
    proc = subprocess.run(
        [sys.executable, str(K8S / "schemas" / "crd_to_jsonschema.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_crd_converter_maps_the_structural_dialect_to_json_schema():
    convert = k8s_script("schemas/crd_to_jsonschema.py").convert
    node = {
        "type": "object",
        "description": "dropped",
        "properties": {
            "q": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
            "n": {"type": "string", "nullable": True},
            "free": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "properties": {"a": {"type": "string"}},
            },
            "m": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "x-kubernetes-validations": [{"rule": "self.q != 0"}],
    }
    assert convert(node, "t") == {
        "type": "object",
        "properties": {
            "q": {"type": ["integer", "string"]},
            "n": {"type": ["string", "null"]},
            "free": {"type": "object", "properties": {"a": {"type": "string"}}},
            "m": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "additionalProperties": False,
    }
    with pytest.raises(ValueError, match=r"t\.bad: expected a schema object"):
        convert({"properties": {"bad": "string"}}, "t")


# ------------------------------------------------------------------------------ alert rules


def test_prometheusrules_are_generated_from_the_current_rule_files():
    proc = subprocess.run(
        [sys.executable, str(PLATFORM / "render_rules.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rendered = [d for d in objects("dev").values() if d["kind"] == "PrometheusRule"]
    sources = sorted((INFRA.parent / "dashboards" / "alerts").glob("*.rules.yml"))
    assert {d["metadata"]["labels"]["aip.platform/rule-file"] for d in rendered} == {p.name for p in sources}
    for doc in rendered:
        source = yaml.safe_load(
            (
                INFRA.parent / "dashboards" / "alerts" / doc["metadata"]["labels"]["aip.platform/rule-file"]
            ).read_text()
        )
        assert doc["spec"]["groups"] == source["groups"]


def test_every_rule_file_becomes_a_prometheusrule_and_a_bad_one_is_named(tmp_path):
    render_rules = k8s_script("platform/render_rules.py")
    (tmp_path / "a.rules.yml").write_text(
        "groups:\n  - name: a\n    rules:\n      - record: x\n        expr: vector(1)\n"
    )
    (tmp_path / "security.rules.yml").write_text("groups:\n  - name: s\n    rules: []\n")
    (tmp_path / "notes.yml").write_text("not: a rule file\n")
    docs = list(yaml.safe_load_all(render_rules.render(tmp_path)))
    assert [d["metadata"]["name"] for d in docs] == ["aip-a-rules", "aip-security-rules"]
    (tmp_path / "broken.rules.yml").write_text("groups:\n  - rules: []\n")
    with pytest.raises(render_rules.RuleFileError, match=r"broken\.rules\.yml: groups\[0\] needs `name`"):
        render_rules.render(tmp_path)


def test_promtool_accepts_every_generated_rule_spec(tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is required (Debian package prometheus; `make rules-check` uses it too)"
    for doc in (d for d in objects("dev").values() if d["kind"] == "PrometheusRule"):
        path = tmp_path / f"{doc['metadata']['name']}.yml"
        path.write_text(yaml.safe_dump({"groups": doc["spec"]["groups"]}))
        proc = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
        )
        rules = sum(len(g["rules"]) for g in doc["spec"]["groups"])
        assert proc.returncode == 0 and f"{rules} rules found" in proc.stdout, proc.stdout + proc.stderr


# ------------------------------------------------------------------------- wiring between objects


def _selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    ok = selector.get("matchLabels", {}).items() <= labels.items()
    for expr in selector.get("matchExpressions", []):
        value = labels.get(expr["key"])
        ok &= {"In": value in expr.get("values", []), "NotIn": value not in expr.get("values", []),
               "Exists": value is not None, "DoesNotExist": value is None}[expr["operator"]]  # fmt: skip
    return ok


def _host_matches(pattern: str, host: str) -> bool:
    return host.endswith(pattern[1:]) if pattern.startswith("*.") else host == pattern


def test_every_httproute_has_its_gateway_and_the_gateway_accepts_it(env):
    objs = objects(env)
    gateways = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o for (k, _), o in objs.items() if k == "Gateway"
    }
    for (kind, name), route in objs.items():
        if kind != "HTTPRoute":
            continue
        namespace = route["metadata"]["namespace"]
        for parent in route["spec"]["parentRefs"]:
            gateway = gateways.get((parent.get("namespace", namespace), parent["name"]))
            assert gateway, f"{env} HTTPRoute/{name}: parent {parent} is not a rendered Gateway"
            assert ("GatewayClass", gateway["spec"]["gatewayClassName"]) in objs
            listeners = [
                lis for lis in gateway["spec"]["listeners"]
                if _selected(lis["allowedRoutes"]["namespaces"]["selector"], {"kubernetes.io/metadata.name": namespace})
                and all(_host_matches(lis["hostname"], host) for host in route["spec"]["hostnames"])
            ]  # fmt: skip
            assert listeners, (
                f"{env} HTTPRoute/{name}: no listener of {gateway['metadata']['name']} admits it"
            )


def test_podmonitor_scrapes_every_model_server_track_on_a_port_they_expose(env):
    objs = objects(env)
    monitor = objs[("PodMonitor", "model-server")]
    assert (
        monitor["metadata"]["namespace"]
        == objs[("Deployment", "model-server-stable")]["metadata"]["namespace"]
    )
    for track in ("stable", "canary", "baseline"):
        pod = objs[("Deployment", f"model-server-{track}")]["spec"]["template"]
        assert _selected(monitor["spec"]["selector"], pod["metadata"]["labels"])
        ports = {p["name"] for c in pod["spec"]["containers"] for p in c["ports"]}
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            assert endpoint["port"] in ports and endpoint["path"] == "/metrics"


def test_one_default_storageclass_encrypted_gp3_and_prometheus_claims_it(env):
    classes = [o for (k, _), o in objects(env).items() if k == "StorageClass"]
    default = [
        c
        for c in classes
        if c["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class") == "true"
    ]
    assert len(default) == 1
    sc = default[0]
    assert sc["provisioner"] == "ebs.csi.aws.com" and sc["parameters"]["type"] == "gp3"
    assert sc["parameters"]["encrypted"] == "true" and sc["volumeBindingMode"] == "WaitForFirstConsumer"
    values = yaml.safe_load((PLATFORM / "values" / "kube-prometheus-stack.yaml").read_text())
    claim = values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == sc["metadata"]["name"]


def test_prometheus_loads_every_monitor_and_rule_and_rules_live_in_its_namespace(env):
    spec = yaml.safe_load((PLATFORM / "values" / "kube-prometheus-stack.yaml").read_text())["prometheus"][
        "prometheusSpec"
    ]
    for key in (
        "podMonitorSelectorNilUsesHelmValues",
        "serviceMonitorSelectorNilUsesHelmValues",
        "ruleSelectorNilUsesHelmValues",
    ):
        assert spec[key] is False, key
    kps = next(r for r in releases()["releases"] if r["name"] == "kube-prometheus-stack")
    rules = [o for (k, _), o in objects(env).items() if k == "PrometheusRule"]
    assert rules and all(r["metadata"]["namespace"] == kps["namespace"] for r in rules)


def test_gpu_nodes_carry_what_gpu_pods_select_and_tolerate(env):
    objs = objects(env)
    pool = objs[("NodePool", "gpu")]["spec"]["template"]
    assert {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"} in pool["spec"]["taints"]
    # What infra/modules/gpu-runners and monitoring select for runner and DCGM exporter pods.
    assert pool["metadata"]["labels"]["nvidia.com/gpu.present"] == "true"
    assert objs[("NodePool", "cpu")]["spec"]["template"]["metadata"]["labels"]["node-pool-kind"] == "cpu"
    assert pool["spec"]["nodeClassRef"]["name"] in {n for k, n in objs if k == "EC2NodeClass"}
    node_class = objs[("EC2NodeClass", "default")]["spec"]
    assert node_class["role"] == f"aip-{env}-karpenter-node"
    assert node_class["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": f"aip-{env}"}}]
    assert node_class["metadataOptions"]["httpTokens"] == "required"  # pragma: allowlist secret
    assert all(b["ebs"]["encrypted"] for b in node_class["blockDeviceMappings"])


# ----------------------------------------------------------------------------------- MLflow


def test_mlflow_reads_its_database_login_synced_from_secrets_manager_and_restarts_on_rotation():
    objs = objects("prod")
    external = objs[("ExternalSecret", "mlflow-backend-store")]["spec"]
    deployment = objs[("Deployment", "mlflow")]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    secret_refs = [e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e]
    assert secret_refs == [external["target"]["name"]]
    assert (
        deployment["metadata"]["annotations"]["secret.reloader.stakater.com/reload"]
        == external["target"]["name"]
    )
    assert re.fullmatch(r"\d+m", external["refreshInterval"]) and int(external["refreshInterval"][:-1]) <= 60
    store = objs[("SecretStore", external["secretStoreRef"]["name"])]["spec"]["provider"]["aws"]
    assert store["service"] == "SecretsManager"
    # The read-only account infra/modules/mlflow creates for External Secrets (not the server's own).
    assert store["auth"]["jwt"]["serviceAccountRef"]["name"] == "mlflow-external-secrets"
    [source] = external["dataFrom"]
    assert re.fullmatch(
        r"arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:rds!db-[\w-]+", source["extract"]["key"]
    )
    assert set(external["target"]["template"]["data"]) == {"DB_USER", "DB_PASSWORD"}
    assert "urlquery" in external["target"]["template"]["data"]["DB_PASSWORD"]
    # Every variable the command uses: the synced Secret, or Terraform's ConfigMap mlflow-config.
    assert [e["configMapRef"]["name"] for e in container["envFrom"] if "configMapRef" in e] == [
        "mlflow-config"
    ]
    command = container["args"][0]
    for var in ("DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT", "DB_NAME"):
        assert f"$({var})" in command
    assert "--allowed-hosts" in command and "${MLFLOW_SERVER_EXTRA_ARGS:-}" in command
    assert {"name": "MLFLOW_SERVER_EXTRA_ARGS", "value": ""} in container["env"]


# --------------------------------------------------------------------------------- releases


@cache
def releases() -> dict[str, Any]:
    return dict(yaml.safe_load((PLATFORM / "releases.yaml").read_text()))


def release_problems(data: Any, base: Path) -> list[str]:
    """What is wrong with a release list, each naming the entry and the field (the check Terraform needs)."""
    if not isinstance(data, dict) or not isinstance(data.get("releases"), list) or not data["releases"]:
        return ["releases.yaml: expected a mapping with a non-empty `releases` list"]
    problems, names = [], []
    for i, entry in enumerate(data["releases"]):
        where = f"releases[{i}]" + (
            f" ({entry.get('name')})" if isinstance(entry, dict) and entry.get("name") else ""
        )
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        missing = [f for f in RELEASE_FIELDS if not isinstance(entry.get(f), str) or not entry[f]]
        problems += [f"{where}.{f}: missing or not a string" for f in missing]
        problems += [f"{where}.{f}: unknown field" for f in entry if f not in RELEASE_FIELDS]
        if "version" not in missing and not EXACT_VERSION.match(entry["version"]):
            problems.append(f"{where}.version: {entry['version']!r} is not an exact version (X.Y.Z)")
        if "repository" not in missing and not re.match(r"^(https://|oci://)", entry["repository"]):
            problems.append(f"{where}.repository: expected an https:// or oci:// URL")
        if "values" not in missing:
            path = base / entry["values"]
            try:
                values = yaml.safe_load(path.read_text())
            except (OSError, yaml.YAMLError) as err:
                problems.append(
                    f"{where}.values: {entry['values']} is not a readable YAML file ({err.__class__.__name__})"
                )
            else:
                if not isinstance(values, dict):
                    problems.append(f"{where}.values: {entry['values']} is not a YAML mapping")
        names.append(entry.get("name"))
    problems += [f"releases: name {n!r} appears twice" for n in {n for n in names if names.count(n) > 1}]
    return problems


def test_release_list_is_pinned_and_complete_for_terraform():
    assert release_problems(releases(), PLATFORM) == []
    assert {r["name"] for r in releases()["releases"]} >= REQUIRED_RELEASES
    # Terraform's for_each key and helm_release arguments: plain strings only.
    assert json.loads(json.dumps(releases())) == releases()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda r: r.update(version="~> 1.8"),
            "releases[0] (karpenter).version: '~> 1.8' is not an exact version",
        ),
        (lambda r: r.update(version="1.8"), "releases[0] (karpenter).version: '1.8' is not an exact version"),
        (lambda r: r.pop("namespace"), "releases[0] (karpenter).namespace: missing or not a string"),
        (
            lambda r: r.update(values="values/nope.yaml"),
            "releases[0] (karpenter).values: values/nope.yaml is not a readable YAML file",
        ),
        (lambda r: r.update(chart_version="1"), "releases[0] (karpenter).chart_version: unknown field"),
    ],
    ids=["range", "partial", "no-namespace", "missing-values", "unknown-field"],
)
def test_release_list_check_names_the_entry_and_field(change, expected):
    data = copy.deepcopy(releases())
    change(data["releases"][0])
    assert any(p.startswith(expected) for p in release_problems(data, PLATFORM)), release_problems(
        data, PLATFORM
    )


def test_fluent_bit_tails_container_logs_parses_ecs_json_and_ships_to_cloudwatch_with_irsa():
    values = yaml.safe_load((PLATFORM / "values" / "fluent-bit.yaml").read_text())
    config = values["config"]
    assert "Path /var/log/containers/*.log" in config["inputs"]
    assert "Parser ecs_json" in config["filters"] and "Time_Key @timestamp" in config["customParsers"]
    assert "Name cloudwatch_logs" in config["outputs"]
    assert "eks.amazonaws.com/role-arn" in values["serviceAccount"]["annotations"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["tolerations"]


def test_platform_kustomization_lists_every_object_file():
    listed = set(yaml.safe_load((PLATFORM / "kustomization.yaml").read_text())["resources"])
    on_disk = {str(p.relative_to(PLATFORM)) for p in PLATFORM.glob("*/*.yaml") if p.parent.name != "values"}
    assert listed == on_disk, Path("infra/k8s/platform/kustomization.yaml")
