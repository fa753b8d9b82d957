"""The MLflow Deployment runs the `aip-auth` app (docs/adr/0019) as the rendered prod overlay gives it.

Checked on `kubectl kustomize infra/k8s/overlays/prod`: the exact command, variables and volumes; the
alias policy ConfigMap parses with the app's own loader and names each environment's deploy user; the
ExternalSecret templates render an ini that MLflow's own config reader accepts (the password round-trips
through the URI and configparser); every Secret/ConfigMap key the pods and the PodMonitor read is one
that a rendered object or an ExternalSecret target holds; the PodMonitor reaches the pods' port with
basic auth; the alert rules name the counter the app exports. The slow test starts the real server from
the .venv with the rendered command, ini and policy (SQLite for Postgres) and proves 401/403/200.

The edge: no cluster, External Secrets operator or Secrets Manager here. ESO renders templates with Go's
text/template and sprig; `render_template` below implements only the pipeline functions these templates
use (urlquery, replace) and fails on any other. Built-in kinds are schema-checked in test_k8s.py.
"""

from __future__ import annotations

import configparser
import ipaddress
import json
import re
import shlex
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.registry import server_auth
from pipelines.registry.alias_policy import POLICY_ENV, load_policy
from tests.support.infra import INFRA
from tests.support.manifests import by_kind_name, k8s_script, render_overlay
from tests.support.mlflow_server import rest_call
from tests.support.repo import REPO_ROOT

pytestmark = pytest.mark.infra

MLFLOW = INFRA / "k8s" / "mlflow"
# What Secrets Manager would hand over: values with every character the ini and the URI must survive.
REMOTE = {
    "db_username": "mlflow_admin",
    "db_password": "p%a/ss@w:o+rd#1",  # pragma: allowlist secret (test data)
    "admin_password": "admin%pass-0123456789",  # pragma: allowlist secret (test data)
    "flask_secret_key": "flask-secret-key-for-csrf",  # pragma: allowlist secret (test data)
    "password": "reader-pass-0123456789",  # pragma: allowlist secret (test data)
}


@cache
def prod() -> dict[tuple[str, str], dict[str, Any]]:
    return by_kind_name(render_overlay("prod"))


def pod_spec() -> dict[str, Any]:
    return dict(prod()[("Deployment", "mlflow")]["spec"]["template"]["spec"])


def container() -> dict[str, Any]:
    return dict(pod_spec()["containers"][0])


def server_argv() -> list[str]:
    """The `mlflow server ...` words of the container's shell command (one `exec` line)."""
    assert container()["command"] == ["/bin/sh", "-c"]
    [line] = container()["args"]
    words = shlex.split(line)
    assert words[:3] == ["exec", "mlflow", "server"], words
    return words[1:]


def flag(argv: list[str], name: str) -> str:
    assert argv.count(name) == 1, f"{name} given {argv.count(name)} times in {argv}"
    return argv[argv.index(name) + 1]


def mount(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(volumeMount, volume) of the container whose mountPath is the folder holding `path`."""
    for m in container()["volumeMounts"]:
        if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/"):
            [volume] = [v for v in pod_spec()["volumes"] if v["name"] == m["name"]]
            return m, volume
    raise AssertionError(f"nothing is mounted at {path}")


def env_value(name: str) -> dict[str, Any]:
    [entry] = [e for e in container()["env"] if e["name"] == name]
    return dict(entry)


def external_target(name: str) -> dict[str, Any]:
    """The ExternalSecret whose target is the Secret `name`."""
    found = [
        o for (k, _), o in prod().items() if k == "ExternalSecret" and o["spec"]["target"]["name"] == name
    ]
    assert len(found) == 1, f"no single ExternalSecret targets Secret/{name}"
    return found[0]


_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")


def render_template(text: str, values: dict[str, str]) -> str:
    """ESO's v2 template for the pipelines these files use: `.key`, `| urlquery`, `| replace "a" "b"`."""

    def action(match: re.Match[str]) -> str:
        stages = [s.strip() for s in match.group(1).split("|")]
        assert stages[0].startswith("."), f"unsupported template action {match.group(0)!r}"
        value = values[stages[0][1:]]
        for stage in stages[1:]:
            words = shlex.split(stage)
            if words == ["urlquery"]:  # Go's url.QueryEscape
                value = urllib.parse.quote_plus(value, safe="~")
            elif words[0] == "replace" and len(words) == 3:
                value = value.replace(words[1], words[2])
            else:
                raise AssertionError(f"template function {stage!r} is not modelled here")
        return value

    return _ACTION.sub(action, text)


def rendered_secret(name: str, values: dict[str, str] = REMOTE) -> dict[str, str]:
    """The Secret `name` as ESO would write it: the target template rendered with `values`, whose keys
    must be exactly the ExternalSecret's `data[].secretKey`s."""
    spec = external_target(name)["spec"]
    keys = {d["secretKey"] for d in spec.get("data", [])}
    used = {
        m.group(1)
        for t in spec["target"]["template"]["data"].values()
        for m in re.finditer(r"\{\{\s*\.(\w+)", t)
    }
    assert used == keys, f"ExternalSecret for {name}: template uses {used}, data fetches {keys}"
    return {k: render_template(v, values) for k, v in spec["target"]["template"]["data"].items()}


# ------------------------------------------------------------------------------------ the command


def test_mlflow_serves_the_aip_auth_app_and_exports_prometheus_metrics_into_a_writable_folder():
    argv = server_argv()
    assert flag(argv, "--app-name") == "aip-auth"
    folder = flag(argv, "--expose-prometheus")
    volume_mount, volume = mount(folder)
    assert volume_mount["mountPath"] == folder and "emptyDir" in volume
    assert container()["securityContext"]["readOnlyRootFilesystem"] is True
    # The plugin is installed in the image under this name (containers/mlflow.Containerfile checks it too).
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert re.search(r'^aip-auth = "pipelines\.registry\.server_auth:create_app"', pyproject, re.M)


def test_the_auth_files_and_variables_point_at_mounted_configmap_and_secret_keys():
    policy_path = env_value(POLICY_ENV)["value"]
    volume_mount, volume = mount(policy_path)
    assert volume_mount.get("readOnly") is True
    configmap = prod()[("ConfigMap", volume["configMap"]["name"])]
    assert Path(policy_path).name in configmap["data"]

    ini_path = env_value("MLFLOW_AUTH_CONFIG_PATH")["value"]
    volume_mount, volume = mount(ini_path)
    assert volume_mount.get("readOnly") is True
    secret = volume["secret"]
    assert Path(ini_path).name in {i["path"] for i in secret["items"]}
    assert {i["key"] for i in secret["items"]} <= rendered_secret(secret["secretName"]).keys()
    # 0440 is readable by the server only through the pod's fsGroup (runAsUser 10001 is no owner).
    assert secret["defaultMode"] == 0o440
    assert pod_spec()["securityContext"]["fsGroup"] == pod_spec()["securityContext"]["runAsGroup"]

    key = env_value("MLFLOW_FLASK_SERVER_SECRET_KEY")["valueFrom"]["secretKeyRef"]
    assert rendered_secret(key["name"])[key["key"]] == REMOTE["flask_secret_key"]
    assert env_value("AIP_ENV")["value"] == "prod"


def test_every_secret_and_configmap_key_the_pods_and_monitor_read_exists():
    objs = prod()
    terraform = {"mlflow-config"}  # infra/modules/mlflow creates it; the pods read it whole (envFrom)

    def keys(kind: str, name: str) -> set[str]:
        if kind == "ConfigMap":
            assert ("ConfigMap", name) in objs, f"ConfigMap/{name} is not rendered"
            return set(objs[("ConfigMap", name)]["data"])
        return set(external_target(name)["spec"]["target"]["template"]["data"])

    refs: list[tuple[str, str, str | None]] = []
    for e in container()["env"]:
        source = e.get("valueFrom", {})
        if "secretKeyRef" in source:
            refs.append(("Secret", source["secretKeyRef"]["name"], source["secretKeyRef"]["key"]))
        if "configMapKeyRef" in source:
            refs.append(("ConfigMap", source["configMapKeyRef"]["name"], source["configMapKeyRef"]["key"]))
    for v in pod_spec()["volumes"]:
        for kind, field, name_key in (("Secret", "secret", "secretName"), ("ConfigMap", "configMap", "name")):
            if field in v:
                items = v[field].get("items") or [{"key": None}]
                refs += [(kind, v[field][name_key], i["key"]) for i in items]
    for e in container().get("envFrom", []):
        if "secretRef" in e:
            refs.append(("Secret", e["secretRef"]["name"], None))
        elif e["configMapRef"]["name"] not in terraform:
            refs.append(("ConfigMap", e["configMapRef"]["name"], None))
    for endpoint in objs[("PodMonitor", "mlflow")]["spec"]["podMetricsEndpoints"]:
        refs += [("Secret", s["name"], s["key"]) for s in endpoint["basicAuth"].values()]
    assert len(refs) >= 6
    for kind, name, key in refs:
        held = keys(kind, name)
        assert key is None or key in held, f"{kind}/{name} has no key {key!r} (it holds {sorted(held)})"


def test_reloader_restarts_mlflow_when_any_synced_secret_it_reads_changes():
    annotations = prod()[("Deployment", "mlflow")]["metadata"]["annotations"]
    explicit = {n.strip() for n in annotations["secret.reloader.stakater.com/reload"].split(",")}
    search = annotations.get("reloader.stakater.com/search") == "true"
    read = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in container()["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    read |= {v["secret"]["secretName"] for v in pod_spec()["volumes"] if "secret" in v}
    read |= {e["secretRef"]["name"] for e in container()["envFrom"] if "secretRef" in e}
    for name in read:
        matched = (
            external_target(name)["spec"]["target"]["template"].get("metadata", {}).get("annotations", {})
        )
        assert name in explicit or (search and matched.get("reloader.stakater.com/match") == "true"), name


def test_allowed_hosts_admit_the_route_the_service_and_prometheus_scraping_a_pod_ip():
    from mlflow.server.security_utils import is_allowed_host_header

    hosts = flag(server_argv(), "--allowed-hosts").split(",")
    route = prod()[("HTTPRoute", "mlflow")]["spec"]["hostnames"]
    for host in [*route, "mlflow.mlflow.svc", "mlflow.mlflow.svc.cluster.local"]:
        assert is_allowed_host_header(hosts, host), host
    cidr = re.search(r'vpc_cidr\s*=\s*"([^"]+)"', (INFRA / "envs" / "prod" / "main.tf").read_text())
    assert cidr, "infra/envs/prod/main.tf sets no vpc_cidr"
    network = ipaddress.ip_network(cidr.group(1))
    for pod_ip in (network[1], network[network.num_addresses // 2], network[-2]):
        assert is_allowed_host_header(hosts, f"{pod_ip}:5000"), pod_ip
    assert not is_allowed_host_header(hosts, "attacker.example.com:5000")
    assert not is_allowed_host_header(hosts, "192.168.1.10:5000")


# ------------------------------------------------------------------------------ policy and ini


def test_the_policy_configmap_is_the_committed_file_and_gives_each_environment_its_deploy_user(tmp_path):
    policy_path = env_value(POLICY_ENV)["value"]
    _, volume = mount(policy_path)
    content = prod()[("ConfigMap", volume["configMap"]["name"])]["data"][Path(policy_path).name]
    assert content == (MLFLOW / "registry-auth.yaml").read_text()
    (tmp_path / "registry-auth.yaml").write_text(content)
    policy = load_policy(tmp_path / "registry-auth.yaml")
    assert policy.other_aliases == "deny"
    platform = yaml.safe_load((REPO_ROOT / "platform.yaml").read_text())
    envs = [e for e in platform["environments"] if e != "local"]
    assert set(envs) == {"dev", "staging", "prod"} and set(policy.aliases) == set(envs)
    for env in envs:
        [user] = policy.aliases[env]
        assert user == f"aip-deploy-{env}"
        assert policy.decide(user, False, env).allowed
        for other in set(envs) - {env}:
            assert not policy.decide(user, False, other).allowed, (user, other)


# mlflow.server.auth imports starlette's WSGI middleware, deprecated upstream (nothing to fix here).
@pytest.mark.filterwarnings("ignore:starlette.middleware.wsgi is deprecated")
def test_the_auth_ini_template_renders_what_mlflows_config_reader_needs(tmp_path, monkeypatch):
    from mlflow.server.auth.config import read_auth_config
    from sqlalchemy.engine import make_url

    secret = rendered_secret("mlflow-auth")
    path = tmp_path / "basic_auth.ini"
    path.write_text(secret["basic_auth.ini"])
    parser = configparser.ConfigParser()
    parser.read(path)
    # The keys tests/integration/test_mlflow_auth.py starts its server with, plus the admin password.
    required = {
        "default_permission",
        "database_uri",
        "admin_username",
        "admin_password",
        "authorization_function",
    }
    assert required <= set(parser["mlflow"])
    monkeypatch.setenv("MLFLOW_AUTH_CONFIG_PATH", str(path))
    monkeypatch.delenv("MLFLOW_AUTH_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("MLFLOW_AUTH_ADMIN_USERNAME", raising=False)
    config = read_auth_config()  # MLflow's own reader: configparser interpolation included
    assert config.default_permission == "READ"
    assert config.authorization_function == "mlflow.server.auth:authenticate_request_basic_auth"
    assert config.admin_password == REMOTE["admin_password"]
    url = make_url(config.database_uri)
    assert url.drivername == "postgresql+psycopg2" and url.query == {"sslmode": "require"}
    assert (url.username, url.password) == (REMOTE["db_username"], REMOTE["db_password"])


def test_without_doubling_the_percent_signs_mlflow_could_not_read_the_ini(tmp_path):
    text = (MLFLOW / "externalsecret-auth.yaml").read_text().replace(' | replace "%" "%%"', "")
    template = next(d for d in yaml.safe_load_all(text) if d["metadata"]["name"] == "mlflow-auth")
    ini = render_template(template["spec"]["target"]["template"]["data"]["basic_auth.ini"], REMOTE)
    parser = configparser.ConfigParser()
    parser.read_string(ini)
    with pytest.raises(configparser.InterpolationSyntaxError):
        parser["mlflow"]["database_uri"]


# ------------------------------------------------------------------------------------ monitoring


def test_the_podmonitor_scrapes_mlflows_metrics_port_with_the_read_only_login():
    objs = prod()
    monitor = objs[("PodMonitor", "mlflow")]
    deployment = objs[("Deployment", "mlflow")]
    assert monitor["metadata"]["namespace"] == deployment["metadata"]["namespace"] == "mlflow"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    ports = {p["name"]: p["containerPort"] for p in container()["ports"]}
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] in ports and endpoint["path"] == server_auth.METRICS_PATH
    login = rendered_secret(endpoint["basicAuth"]["username"]["name"])
    assert login[endpoint["basicAuth"]["username"]["key"]] == "aip-metrics-reader"
    assert login[endpoint["basicAuth"]["password"]["key"]] == REMOTE["password"]


def test_the_alias_alerts_query_the_counter_and_labels_the_app_exports():
    from pipelines.observability.catalogue import BY_NAME

    rules = yaml.safe_load((REPO_ROOT / "dashboards" / "alerts" / "security.rules.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"] if "aip_registry" in r["expr"]]
    assert len(exprs) >= 2
    metric = BY_NAME[server_auth.METRIC]
    outcomes = {"allowed", "break_glass", "denied", "unauthenticated", "failed"}  # server_auth's docstring
    for expr in exprs:
        assert set(re.findall(r"\baip_registry_\w+", expr)) == {server_auth.METRIC}
        for group in re.findall(r"by \(([^)]*)\)", expr):
            assert {w.strip() for w in group.split(",")} <= set(metric.labels), group
        for value in re.findall(r'outcome=~?"([^"]+)"', expr):
            assert set(value.split("|")) <= outcomes, value


def test_every_mlflow_custom_resource_validates_against_its_vendored_schema():
    validate = k8s_script("schemas/validate.py")
    docs = [o for (k, _), o in prod().items() if o["metadata"].get("namespace") == "mlflow"]
    kinds = {d["kind"] for d in docs}
    assert {"PodMonitor", "ExternalSecret", "SecretStore", "HTTPRoute"} <= kinds
    assert [p for d in docs for p in validate.validate_document(d, builtin=False)] == []
    broken = json.loads(json.dumps(prod()[("PodMonitor", "mlflow")]))
    broken["spec"]["podMetricsEndpoints"][0]["basicAuth"]["password"] = {"name": "mlflow-metrics-reader"}
    problems = validate.validate_document(broken, builtin=False)
    assert any(p.startswith("PodMonitor/mlflow") and "basicAuth/password" in p for p in problems), problems


# ------------------------------------------------------------------------------ the real server

ADMIN_USER = "aip-admin"
USERS = {
    "aip-deploy-prod": "prod-pass-0123456789",  # pragma: allowlist secret (test data)
    "aip-deploy-dev": "dev-pass-0123456789",  # pragma: allowlist secret (test data)
    "aip-metrics-reader": REMOTE["password"],
}


def _call(
    url: str, method: str, path: str, body: Any = None, user: str | None = None, host: str | None = None
) -> tuple[int, Any]:
    login = None
    if user is not None:
        login = (user, REMOTE["admin_password"] if user == ADMIN_USER else USERS[user])
    return rest_call(url, method, path, body, login, host)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlflow server` from the .venv with the Deployment's flags, variables, ini and policy; only the
    listen address, the stores (SQLite, moto S3) and the file paths (mount -> temp folder) differ."""
    from tests.support.mlflow_server import mlflow_server
    from tests.support.s3 import s3_server

    base = tmp_path_factory.mktemp("mlflow-k8s-auth")
    argv = server_argv()
    env: dict[str, str] = {}
    for entry in container()["env"]:
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            env[entry["name"]] = rendered_secret(ref["name"])[ref["key"]]
    policy_path = env_value(POLICY_ENV)["value"]
    _, volume = mount(policy_path)
    (base / "registry-auth.yaml").write_text(
        prod()[("ConfigMap", volume["configMap"]["name"])]["data"]["registry-auth.yaml"]
    )
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(rendered_secret("mlflow-auth")["basic_auth.ini"])
    ini["mlflow"]["database_uri"] = f"sqlite:///{base / 'auth.db'}"  # instead of the RDS database
    with (base / "basic_auth.ini").open("w") as out:
        ini.write(out)
    env |= {
        POLICY_ENV: str(base / "registry-auth.yaml"),
        "MLFLOW_AUTH_CONFIG_PATH": str(base / "basic_auth.ini"),
    }
    with (
        s3_server(base / "moto.log", "artifacts") as s3,
        mlflow_server(
            base / "mlflow",
            s3,
            "artifacts",
            app_name=flag(argv, "--app-name"),
            env=env,
            args=local_args(argv, base),
        ) as url,
    ):
        for user, password in USERS.items():
            body = {"username": user, "password": password}
            assert _call(url, "POST", "/api/2.0/mlflow/users/create", body, ADMIN_USER)[0] == 200
        assert (
            _call(url, "POST", "/api/2.0/mlflow/registered-models/create", {"name": MODEL}, ADMIN_USER)[0]
            == 200
        )
        for _ in range(2):
            version = {"name": MODEL, "source": "s3://artifacts/mlflow/model"}
            assert _call(url, "POST", "/api/2.0/mlflow/model-versions/create", version, ADMIN_USER)[0] == 200
        for user in ("aip-deploy-prod", "aip-deploy-dev"):
            grant = {
                "username": user,
                "resource_type": "registered_model",
                "resource_id": MODEL,
                "permission": "EDIT",
            }
            assert _call(url, "POST", "/api/3.0/mlflow/users/permissions/grant", grant, ADMIN_USER)[0] == 200
        yield url


MODEL = "tumor-classifier"
# Flags `mlflow_server` sets itself (listen address, stores, app); the rendered values are not usable here.
OWN_FLAGS = {"--host", "--port", "--backend-store-uri", "--artifacts-destination", "--app-name"}
VALUED_FLAGS = OWN_FLAGS | {"--allowed-hosts", "--expose-prometheus"}


def local_args(argv: list[str], base: Path) -> list[str]:
    """The rendered flags for a server on 127.0.0.1: every flag kept, except those `mlflow_server` sets;
    the Prometheus folder moves into `base`, and the client's 127.0.0.1:<port> joins the allowed hosts."""
    args: list[str] = []
    words = iter(argv[2:])  # after `mlflow server`
    for word in words:
        if word == "${MLFLOW_SERVER_EXTRA_ARGS:-}":
            assert env_value("MLFLOW_SERVER_EXTRA_ARGS")["value"] == ""  # the shell expands it to nothing
            continue
        assert word.startswith("--"), f"unexpected word {word!r} in the server command"
        value = next(words) if word in VALUED_FLAGS else None
        if word in OWN_FLAGS:
            continue
        if word == "--allowed-hosts":
            value = f"{value},127.0.0.1:*"
        elif word == "--expose-prometheus":
            value = str(base / "prometheus")
        args += [word] if value is None else [word, value]
    assert {"--allowed-hosts", "--expose-prometheus", "--serve-artifacts"} <= set(args), args
    return args


def _set_alias(url: str, alias: str, version: str, user: str | None) -> tuple[int, Any]:
    body = {"name": MODEL, "alias": alias, "version": version}
    return _call(url, "POST", "/api/2.0/mlflow/registered-models/alias", body, user)


def _alias(url: str, alias: str) -> str | None:
    path = f"/api/2.0/mlflow/registered-models/alias?name={MODEL}&alias={alias}"
    status, body = _call(url, "GET", path, user="aip-metrics-reader")
    return str(body["model_version"]["version"]) if status == 200 else None


@pytest.mark.slow
def test_the_rendered_server_refuses_anonymous_moves_and_a_dev_user_moving_prod(served):
    assert _set_alias(served, "prod", "1", "aip-deploy-prod")[0] == 200
    assert _set_alias(served, "prod", "2", None)[0] == 401
    status, body = _set_alias(served, "prod", "2", "aip-deploy-dev")
    assert status == 403
    assert body["message"] == "user 'aip-deploy-dev' may not move @prod; the policy allows: aip-deploy-prod"
    assert _alias(served, "prod") == "1"
    assert _set_alias(served, "dev", "2", "aip-deploy-dev")[0] == 200
    assert _set_alias(served, "staging", "2", "aip-deploy-dev")[0] == 403
    assert _set_alias(served, "prod", "2", "aip-deploy-prod")[0] == 200
    assert _alias(served, "prod") == "2"


@pytest.mark.slow
def test_prometheus_scrapes_a_pod_ip_with_the_read_only_login_and_sees_the_refusal(served):
    assert _set_alias(served, "prod", "1", "aip-deploy-dev")[0] == 403
    network = ipaddress.ip_network(
        re.search(r'vpc_cidr\s*=\s*"([^"]+)"', (INFRA / "envs" / "prod" / "main.tf").read_text()).group(1)  # type: ignore[union-attr]
    )
    pod = f"{network[300]}:5000"  # the Host header of Prometheus' scrape of a pod
    status, text = _call(served, "GET", server_auth.METRICS_PATH, user="aip-metrics-reader", host=pod)
    assert status == 200, text
    found = re.search(
        r'^aip_registry_alias_moves_total\{(?=[^}]*alias="prod")(?=[^}]*user="aip-deploy-dev")'
        r'(?=[^}]*outcome="denied")[^}]*\} (\S+)$',
        str(text),
        re.M,
    )
    assert found and float(found.group(1)) >= 1, str(text)[-2000:]
    assert _call(served, "GET", server_auth.METRICS_PATH, host=pod)[0] == 401
    assert (
        _call(served, "GET", server_auth.METRICS_PATH, user="aip-metrics-reader", host="evil.example:5000")[0]
        == 403
    )
