"""The `aip-auth` MLflow app against a real `mlflow server --app-name aip-auth` on 127.0.0.1.

One server for the module (~15 s to start): basic auth on, default permission READ, the alias policy
prod -> deployer-prod, dev -> deployer-dev, and `--expose-prometheus`. Users and grants are made with
MLflow's own admin REST API; alias moves go through MLflow's client (`Registry.set_alias`, what
`aip` promotes with) with MLFLOW_TRACKING_USERNAME/PASSWORD, or raw REST where the route matters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.registry.store import Registry
from tests.support.mlflow_server import mlflow_server, rest_call
from tests.support.s3 import s3_server

pytestmark = pytest.mark.integration

MODEL = "tumor-classifier"
ADMIN = ("admin", "admin-pass-0123456789")
PROD = ("deployer-prod", "prod-pass-0123456789")
DEV = ("deployer-dev", "dev-pass-0123456789")
READER = ("reader", "reader-pass-0123456789")
POLICY = """\
aliases:
  prod: [deployer-prod]
  staging: [deployer-staging]
  dev: [deployer-dev]
other_aliases: deny
break_glass: admins
"""
AUTH_INI = """\
[mlflow]
default_permission = READ
database_uri = sqlite:///{db}
admin_username = admin
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
"""


@dataclass(frozen=True)
class Server:
    url: str
    log: Path

    def call(
        self, method: str, path: str, body: Any = None, user: tuple[str, str] | None = None
    ) -> tuple[int, Any]:
        """(status, decoded JSON or text) of one REST call, as `user` (None: no credentials)."""
        return rest_call(self.url, method, path, body, user)

    def alias(self, alias: str) -> str | None:
        status, body = self.call(
            "GET", f"/api/2.0/mlflow/registered-models/alias?name={MODEL}&alias={alias}", user=READER
        )
        return str(body["model_version"]["version"]) if status == 200 else None

    def set_alias(
        self, alias: str, version: str, user: tuple[str, str] | None, api: str = "api"
    ) -> tuple[int, Any]:
        body = {"name": MODEL, "alias": alias, "version": version}
        return self.call("POST", f"/{api}/2.0/mlflow/registered-models/alias", body, user)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("mlflow-auth")
    (base / "registry-auth.yaml").write_text(POLICY)
    (base / "basic_auth.ini").write_text(AUTH_INI.format(db=base / "auth.db"))
    env = {
        "AIP_REGISTRY_AUTH_POLICY": str(base / "registry-auth.yaml"),
        "MLFLOW_AUTH_CONFIG_PATH": str(base / "basic_auth.ini"),
        "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN[1],
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "test-secret-key-for-csrf",
    }
    args = ["--expose-prometheus", str(base / "prometheus")]
    with (
        s3_server(base / "moto.log", "artifacts") as s3,
        mlflow_server(base / "mlflow", s3, "artifacts", app_name="aip-auth", env=env, args=args) as url,
    ):
        srv = Server(url, base / "mlflow" / "mlflow-server.log")
        for user, password in (PROD, DEV, READER):
            status, body = srv.call(
                "POST", "/api/2.0/mlflow/users/create", {"username": user, "password": password}, ADMIN
            )
            assert status == 200, body
        assert srv.call("POST", "/api/2.0/mlflow/registered-models/create", {"name": MODEL}, ADMIN)[0] == 200
        for _ in range(3):
            status, body = srv.call(
                "POST",
                "/api/2.0/mlflow/model-versions/create",
                {"name": MODEL, "source": "s3://artifacts/mlflow/model"},
                ADMIN,
            )
            assert status == 200, body
        # The dev user even manages the model (MLflow would let it delete versions): the guard still refuses.
        for user, permission in ((PROD[0], "EDIT"), (DEV[0], "MANAGE")):
            grant = {
                "username": user,
                "resource_type": "registered_model",
                "resource_id": MODEL,
                "permission": permission,
            }
            assert srv.call("POST", "/api/3.0/mlflow/users/permissions/grant", grant, ADMIN)[0] == 200
        assert srv.set_alias("prod", "1", PROD)[0] == 200
        assert srv.set_alias("dev", "1", DEV)[0] == 200
        yield srv


def _metric(server: Server, alias: str, user: str, outcome: str) -> float:
    status, text = server.call("GET", "/metrics", user=READER)  # basic auth guards /metrics too
    assert status == 200
    labels = rf'(?=[^}}]*alias="{re.escape(alias)}")(?=[^}}]*user="{re.escape(user)}")'
    labels += rf'(?=[^}}]*outcome="{re.escape(outcome)}")'
    pattern = rf"^aip_registry_alias_moves_total\{{{labels}[^}}]*\}} (\S+)$"
    found = re.search(pattern, str(text), re.M)
    return float(found.group(1)) if found else 0.0


def _flat(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """ecs-logging nests dotted names (`user.name` -> {"user": {"name": ...}}); flatten them back."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _events(server: Server) -> list[dict[str, Any]]:
    lines = [line for line in server.log.read_text().splitlines() if line.startswith("{")]
    return [
        e
        for e in map(_flat, map(json.loads, lines))
        if str(e.get("event.action", "")).startswith("registry-alias")
    ]


def test_a_dev_user_cannot_move_prod_and_nothing_changes(server: Server):
    before = _metric(server, "prod", DEV[0], "denied")
    status, body = server.set_alias("prod", "2", DEV)
    assert status == 403
    assert body["error_code"] == "PERMISSION_DENIED"
    assert body["message"] == "user 'deployer-dev' may not move @prod; the policy allows: deployer-prod"
    assert server.alias("prod") == "1"
    assert _metric(server, "prod", DEV[0], "denied") == before + 1


def test_the_ajax_api_twin_and_case_variants_are_guarded_too(server: Server):
    assert server.set_alias("prod", "2", DEV, api="ajax-api")[0] == 403
    assert server.set_alias("PROD", "2", DEV)[0] == 403
    assert server.alias("prod") == "1"


def test_the_prod_deploy_user_moves_prod_with_mlflows_client_credentials(
    server: Server, monkeypatch: pytest.MonkeyPatch
):
    from mlflow.tracking import MlflowClient

    # What `aip` does in the deploy workflow: MLflow's client reads these two variables itself.
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", PROD[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PROD[1])
    before = _metric(server, "prod", PROD[0], "allowed")
    # registry_uri too: a global one set earlier in the process (mlflow.set_registry_uri) would win.
    client = MlflowClient(server.url, registry_uri=server.url)
    previous = Registry(client).set_alias(MODEL, "prod", "2")
    assert previous == "1"
    assert server.alias("prod") == "2"
    assert _metric(server, "prod", PROD[0], "allowed") == before + 1
    event = [e for e in _events(server) if e["user.name"] == PROD[0] and e["labels.model_version"] == "2"][-1]
    assert event["labels.alias"] == "prod" and event["labels.model"] == MODEL
    assert event["labels.previous_version"] == "1" and event["event.outcome"] == "success"
    assert event["service.name"] == "aip-registry" and event["log.level"] == "info"


def test_the_same_client_as_the_dev_user_is_refused_with_the_reason(
    server: Server, monkeypatch: pytest.MonkeyPatch
):
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", DEV[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", DEV[1])
    current = server.alias("prod")
    with pytest.raises(MlflowException, match="may not move @prod"):
        client = MlflowClient(server.url, registry_uri=server.url)
        client.set_registered_model_alias(MODEL, "prod", "3")
    assert server.alias("prod") == current


def test_an_unauthenticated_request_gets_401_and_is_counted_as_anonymous(server: Server):
    before = _metric(server, "prod", "anonymous", "unauthenticated")
    assert server.set_alias("prod", "3", None)[0] == 401
    assert server.set_alias("prod", "3", (DEV[0], "wrong-password"))[0] == 401
    assert server.alias("prod") in ("1", "2")
    assert _metric(server, "prod", "anonymous", "unauthenticated") == before + 2


def test_a_read_only_user_reads_but_cannot_move_any_alias(server: Server):
    status, body = server.call("GET", f"/api/2.0/mlflow/registered-models/get?name={MODEL}", user=READER)
    assert status == 200 and body["registered_model"]["name"] == MODEL
    assert server.alias("dev") == "1"
    before = _metric(server, "dev", READER[0], "denied")
    assert server.set_alias("dev", "2", READER)[0] == 403  # MLflow's model permission refuses first
    assert _metric(server, "dev", READER[0], "denied") == before + 1


def test_each_environment_user_moves_only_its_own_alias(server: Server):
    assert server.set_alias("dev", "3", DEV)[0] == 200
    assert server.alias("dev") == "3"
    assert server.set_alias("dev", "2", PROD)[0] == 403
    assert server.set_alias("experiment", "2", DEV)[1]["message"].endswith("(other_aliases: deny)")


def test_deleting_prod_in_any_way_is_refused_to_the_dev_user(server: Server):
    prod = server.alias("prod")
    path = "/api/2.0/mlflow/registered-models/alias"
    assert server.call("DELETE", path, {"name": MODEL, "alias": "prod"}, DEV)[0] == 403
    status, body = server.call(
        "DELETE", "/api/2.0/mlflow/model-versions/delete", {"name": MODEL, "version": prod}, DEV
    )
    assert status == 403 and "@prod" in body["message"]
    status, body = server.call(
        "POST", "/api/2.0/mlflow/registered-models/rename", {"name": MODEL, "new_name": "renamed"}, DEV
    )
    assert status == 403 and "@prod" in body["message"]
    assert server.alias("prod") == prod


def test_an_admin_moves_prod_only_as_a_logged_break_glass(server: Server):
    before = _metric(server, "prod", ADMIN[0], "break_glass")
    assert server.set_alias("prod", "1", ADMIN)[0] == 200
    assert server.alias("prod") == "1"
    assert _metric(server, "prod", ADMIN[0], "break_glass") == before + 1
    event = [e for e in _events(server) if e["user.name"] == ADMIN[0]][-1]
    assert event["labels.decision"] == "break_glass" and event["log.level"] == "warning"
