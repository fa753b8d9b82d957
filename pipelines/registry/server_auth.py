"""`aip-auth`: the MLflow server app plugin that lets only each environment's deploy role move its alias.

    AIP_REGISTRY_AUTH_POLICY=registry-auth.yaml MLFLOW_AUTH_CONFIG_PATH=basic_auth.ini \\
    MLFLOW_FLASK_SERVER_SECRET_KEY=... MLFLOW_AUTH_ADMIN_PASSWORD=... \\
      mlflow server --app-name aip-auth --expose-prometheus /tmp/prometheus ...

MLflow loads it through the `mlflow.app` entry point in pyproject.toml. It is MLflow's own basic-auth
app (users, passwords, per-model permissions; `mlflow.server.auth`) plus one guard that runs after
basic auth has authenticated the request and checked the model permission:

- a request that moves an alias (set or delete it, REST and ajax-api; delete the version an alias
  points at; delete or rename a model that has aliases) is allowed only when the policy file
  (alias_policy.py) lets the user move every alias concerned; otherwise it is answered 403 with
  one line saying why, before MLflow changes anything;
- every attempt is one ECS log line (user, model, alias, version, outcome) and one increment of
  `aip_registry_alias_moves_total{alias, user, outcome}`, exported on the server's /metrics when it
  runs with `--expose-prometheus` (the counter lives in the same multiprocess registry).

Outcomes: allowed, break_glass (an MLflow admin outside the policy), denied (by this policy or by
MLflow's model permission), unauthenticated (401; the user label is then `anonymous`), failed
(permitted, but MLflow answered an error, e.g. an unknown version).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.registry.alias_policy import POLICY_ENV, AliasPolicy, Decision, PolicyError, load_policy

if TYPE_CHECKING:
    from flask import Flask, Response

__all__ = ["create_app"]

METRIC = "aip_registry_alias_moves_total"
SERVICE = "aip-registry"  # service.name of the guard's log lines
METRICS_PATH = "/metrics"  # where --expose-prometheus serves the registry
ANONYMOUS = "anonymous"  # the user label of unauthenticated attempts (never a claimed name: cardinality)
_G_KEY = "aip_alias_moves"
_log = logging.getLogger("pipelines.registry.server_auth")


@dataclass(frozen=True)
class Move:
    """One alias a request would change: set to `version`, or removed (`version` None)."""

    action: str  # set, delete, delete-version, delete-model, rename-model
    model: str
    alias: str
    version: str | None
    previous: str | None


def _request_classes() -> dict[tuple[str, str], str]:
    """(Flask rule, method) -> action, for every REST and ajax-api route that can move an alias."""
    from mlflow.protos.model_registry_pb2 import (
        DeleteModelVersion,
        DeleteRegisteredModel,
        DeleteRegisteredModelAlias,
        RenameRegisteredModel,
        SetRegisteredModelAlias,
    )
    from mlflow.server.handlers import get_endpoints

    actions = {
        SetRegisteredModelAlias: "set",
        DeleteRegisteredModelAlias: "delete",
        DeleteModelVersion: "delete-version",
        DeleteRegisteredModel: "delete-model",
        RenameRegisteredModel: "rename-model",
    }
    routes: dict[tuple[str, str], str] = {}
    for path, request_class, methods in get_endpoints(lambda request_class: request_class):  # type: ignore[no-untyped-call]
        action = actions.get(request_class)
        if action is not None:
            routes.update({(path, method): action for method in methods})
    return routes


def _params() -> dict[str, Any]:
    from flask import request

    body = request.get_json(silent=True) if request.method != "GET" else None
    return {**request.args.to_dict(), **(body if isinstance(body, dict) else {})}


def _moves(action: str, params: dict[str, Any]) -> list[Move]:
    """The aliases this request would change, read from the registry before MLflow acts."""
    from mlflow.exceptions import MlflowException
    from mlflow.server.handlers import _get_model_registry_store

    name, alias = str(params.get("name", "")), str(params.get("alias", ""))
    store = _get_model_registry_store()
    try:
        if action in ("set", "delete"):
            try:
                previous: str | None = str(store.get_model_version_by_alias(name, alias).version)  # type: ignore[no-untyped-call]
            except MlflowException:
                previous = None
            version = str(params.get("version", "")) if action == "set" else None
            return [Move(action, name, alias, version, previous)]
        if action == "delete-version":
            mv = store.get_model_version(name, str(params.get("version", "")))  # type: ignore[no-untyped-call]
            return [Move(action, name, a, None, str(mv.version)) for a in mv.aliases]
        aliases = store.get_registered_model(name).aliases  # type: ignore[no-untyped-call]
        return [Move(action, name, a, None, str(v)) for a, v in dict(aliases).items()]
    except MlflowException:
        return []  # no such model or version: MLflow answers that itself, and nothing moves


class AliasGuard:
    """The Flask hooks: `before` decides, `after` logs and counts what happened."""

    def __init__(self, policy: AliasPolicy, counter: Any) -> None:
        self.policy = policy
        self.counter = counter
        self.routes = _request_classes()

    def _action(self) -> str | None:
        from flask import request

        rule = request.url_rule.rule if request.url_rule is not None else None
        return self.routes.get((rule, request.method)) if rule else None

    def metrics_gate(self) -> Any:
        """/metrics for any authenticated user (Prometheus scrapes with a read-only user): basic auth
        fails closed on routes it has no rule for, which would leave the scrape to an admin account."""
        from flask import current_app, request

        if request.url_rule is None or request.url_rule.rule != METRICS_PATH:
            return None
        from mlflow.server.auth import authenticate_request

        authorization = authenticate_request()
        if not hasattr(authorization, "username"):
            return authorization  # basic auth's 401 challenge
        return current_app.view_functions[request.url_rule.endpoint]()

    def before(self) -> Response | None:
        from flask import g, make_response

        action = self._action()
        if action is None:
            return None
        import mlflow.server.auth as basic_auth

        user = str(g.mlflow_authenticated_user)  # set by basic auth, which ran first
        is_admin = bool(basic_auth.store.get_user(user).is_admin)
        decided = [(m, self.policy.decide(user, is_admin, m.alias)) for m in _moves(action, _params())]
        g.setdefault(_G_KEY, (user, decided))
        refused = [d for _, d in decided if not d.allowed]
        if not refused:
            return None
        body = {"error_code": "PERMISSION_DENIED", "message": refused[0].reason}
        response = make_response(json.dumps(body), 403)
        response.mimetype = "application/json"
        return response

    def after(self, response: Response) -> Response:
        from flask import g, request

        action = self._action()
        if action is None:
            return response
        status = response.status_code
        recorded = g.get(_G_KEY)
        if recorded is not None:
            user, decided = recorded
        elif action in ("set", "delete") and status in (401, 403):
            # Basic auth refused before the guard ran: no credentials, or no permission on the model.
            params = _params()
            user = str(g.get("mlflow_authenticated_user") or ANONYMOUS) if status == 403 else ANONYMOUS
            why = "no valid credentials" if status == 401 else "no MLflow permission on the registered model"
            move = Move(action, str(params.get("name", "")), str(params.get("alias", "")), None, None)
            if action == "set":
                move = Move(action, move.model, move.alias, str(params.get("version", "")), None)
            decided = [(move, Decision("denied", why))]
        else:
            return response
        for move, decision in decided:
            outcome = _outcome(decision, status)
            self.counter.labels(move.alias, user, outcome).inc()
            level = logging.INFO if outcome == "allowed" else logging.WARNING
            _log.log(
                level,
                f"registry alias {move.action} @{move.alias} of {move.model}: {outcome} ({decision.reason})",
                extra={
                    "event.action": f"registry-alias-{move.action}",
                    "event.category": ["iam", "configuration"],
                    "event.outcome": "success" if outcome in ("allowed", "break_glass") else "failure",
                    "user.name": user,
                    "url.path": request.path,
                    "http.request.method": request.method,
                    "http.response.status_code": status,
                    "labels.model": move.model,
                    "labels.alias": move.alias,
                    "labels.model_version": move.version or "",
                    "labels.previous_version": move.previous or "",
                    "labels.decision": outcome,
                },
            )
        return response


def _outcome(decision: Decision, status: int) -> str:
    if status == 401:
        return "unauthenticated"
    if not decision.allowed or status == 403:
        return "denied"
    return decision.outcome if status < 400 else "failed"


_counter: Any = None


def _alias_counter() -> Any:
    """The counter, created once per process in the default registry (MLflow's --expose-prometheus
    runs prometheus_client in multiprocess mode, so every worker's increments reach /metrics)."""
    global _counter  # noqa: PLW0603 - one metric per process, whatever calls create_app
    if _counter is None:
        from pipelines.observability.catalogue import create

        _counter = create(METRIC)
    return _counter


def create_app(app: Flask | None = None) -> Any:
    """The `mlflow.app` entry point: MLflow's basic-auth app with the alias guard added."""
    path = os.environ.get(POLICY_ENV)
    if not path:
        raise PolicyError(
            f"{POLICY_ENV} is not set: point it at the registry alias policy (registry-auth.yaml); "
            "the server refuses to start without one (docs/adr/0019-registry-alias-guard.md)"
        )
    policy = load_policy(path)  # a bad file stops the server before it serves anything
    from mlflow.server import app as mlflow_app
    from mlflow.server.auth import create_app as basic_auth_app

    from pipelines.observability import logs

    guard = AliasGuard(policy, _alias_counter())
    logs.configure(SERVICE, os.environ.get("AIP_ENV"), logger=_log.name)
    flask_app = app if app is not None else mlflow_app
    flask_app.before_request(guard.metrics_gate)  # before basic auth's hook, which would answer 403
    served = basic_auth_app(flask_app)  # registers basic auth's before_request: it runs before the guard
    flask_app.before_request(guard.before)
    flask_app.after_request(guard.after)
    _log.info(f"alias guard on: policy {path} guards {', '.join(sorted(guard.policy.aliases))}")
    return served
