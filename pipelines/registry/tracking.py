"""Connect to the environment's MLflow: embedded SQLite by default, a server when configured.

`AIP_TRACKING_URI` overrides platform.yaml (handy for pointing a laptop at a shared server).
A configured server that is down fails in seconds with its URI, rather than hanging in retries.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import AipError
from pipelines.http import HttpError, Unreachable, request
from pipelines.repo.layout import Repo

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

REACHABILITY_TIMEOUT_S = 5.0  # a healthy server answers /health in milliseconds
# MLflow 3's UI picks its layout from this experiment tag: classic training runs, not GenAI traces.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
# Query parameter that opens MLflow 3's UI in its "Model training" view (it defaults to GenAI, which
# hides the model registry); the UI reads it from the page's hash route.
_TRAINING_VIEW = "?workflowType=machine_learning"


class TrackingUnavailable(AipError):
    """The tracking server cannot be reached."""


def tracking_uri(repo: Repo, env: str | None = None) -> str:
    if override := os.environ.get("AIP_TRACKING_URI"):
        return override
    _, settings = repo.environment(env)
    return repo.resolve(settings.tracking_uri)


def artifact_root(repo: Repo, env: str | None = None) -> str:
    """Artifact location for new experiments: a file:// URI for folders, else the URI as written."""
    if override := os.environ.get("AIP_ARTIFACT_STORE"):
        location = override
    else:
        _, settings = repo.environment(env)
        location = repo.resolve(settings.artifact_store)
    return location if "://" in location else Path(location).as_uri()


def check_reachable(uri: str, timeout: float = REACHABILITY_TIMEOUT_S) -> None:
    """Raise TrackingUnavailable unless an http(s) tracking server answers /health."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        status, _ = request("GET", uri.rstrip("/") + "/health", timeout=timeout)
        if status == 200:
            return
        reason = f"HTTP {status}"
    except HttpError as exc:
        reason = f"HTTP {exc.status}"
    except Unreachable as exc:
        reason = str(exc)
    raise TrackingUnavailable(
        f"MLflow tracking server {uri} is unreachable ({reason}). Start it, fix tracking_uri in "
        "platform.yaml, or set AIP_TRACKING_URI."
    )


def connect(repo: Repo, env: str | None = None) -> MlflowClient:
    """Point MLflow at the environment's tracking store and return a client for it."""
    uri = tracking_uri(repo, env)
    check_reachable(uri)
    # Fail fast instead of MLflow's default of minutes of retries against a dead server.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)

    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(client: MlflowClient, repo: Repo, model: str, env: str | None = None) -> str:
    """The model's experiment (one per model), created with the environment's artifact store."""
    name = f"aip/{model}"
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    if client.tracking_uri.startswith(("http://", "https://")) and "AIP_ARTIFACT_STORE" not in os.environ:
        # A tracking server proxies artifacts to its own store (`--artifacts-destination`, set by
        # infra from the same artifact_store), so runners need no object-storage credentials.
        return str(client.create_experiment(name, tags=EXPERIMENT_KIND))
    location = artifact_root(repo, env).rstrip("/") + f"/{model}"
    return str(client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_KIND))


def ui_links(client: MlflowClient, base_url: str) -> list[str]:
    """Direct links into the MLflow UI: each model's runs, and the model registry.

    Tags older experiments with EXPERIMENT_KIND too, so they open on their training runs."""
    base = base_url.rstrip("/")
    lines = []
    for exp in sorted(client.search_experiments(filter_string="name LIKE 'aip/%'"), key=lambda e: e.name):
        if exp.tags.get("mlflow.experimentKind") is None:
            for key, value in EXPERIMENT_KIND.items():
                client.set_experiment_tag(exp.experiment_id, key, value)
        runs = f"{base}/#/experiments/{exp.experiment_id}/runs{_TRAINING_VIEW}"
        lines.append(f"  runs of {exp.name.removeprefix('aip/')}: {runs}")
    lines.append(f"  model registry: {base}/#/models{_TRAINING_VIEW}")
    lines.append(
        "  MLflow 3 opens in its GenAI view (traces, no model registry): these links ask for its "
        '"Model training" view; where the sidebar still shows GenAI, switch it to "Model training" there.'
    )
    return lines


def param_text(value: object) -> str:
    """A value as an MLflow param: lists and dicts as JSON, cut to MLflow's 500-character limit."""
    text = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return text[:500]
