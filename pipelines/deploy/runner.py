"""Wire a deploy for an environment: which backend, which metrics source, whether to drive traffic.

- an environment without `kubernetes_namespace` (the embedded default `local`): the `aip serve`
  admin API at the serving endpoint (started here if nothing answers), its per-request samples, and
  synthetic traffic replaying the test split;
- an environment with one: the HTTPRoute weights in that namespace (live kubectl), Prometheus at
  `--metrics-url` / AIP_PROMETHEUS_URL, and the environment's real traffic.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from pipelines.deploy.backends import BackendError, KubernetesBackend, LiveKubectl, LocalServerBackend
from pipelines.deploy.controller import deploy, pin_conflict
from pipelines.deploy.load import LoadDriver, replay_inputs
from pipelines.deploy.metrics import LocalSamplesSource, PrometheusSource
from pipelines.deploy.result import DeployResult
from pipelines.deploy.server import LocalServer, ensure_server

if TYPE_CHECKING:
    from pipelines.registry.context import Context

__all__ = ["DEFAULT_CLIENTS", "deploy_in_env", "deploy_with_server"]

DEFAULT_CLIENTS = 4  # closed-loop clients of the synthetic load: keeps 2 cores busy without 429s
PROMETHEUS_ENV = "AIP_PROMETHEUS_URL"


def deploy_with_server(
    ctx: Context,
    model: str,
    version: str,
    server: LocalServer,
    *,
    dry_run: bool = False,
    clients: int = DEFAULT_CLIENTS,
    metrics_endpoint: str | None = None,
    after_canary_loaded: Callable[[], None] | None = None,
) -> DeployResult:
    """Deploy against an `aip serve` (admin API), replaying the test split as traffic."""
    backend = LocalServerBackend(server.endpoint, server.token)
    metrics = LocalSamplesSource(metrics_endpoint or server.endpoint, server.token)
    load = LoadDriver(server.endpoint, model, replay_inputs(ctx.repo, model), clients=clients)
    return deploy(
        ctx,
        model,
        version,
        backend,
        metrics,
        load=load,
        dry_run=dry_run,
        after_canary_loaded=after_canary_loaded,
    )


def deploy_in_env(
    ctx: Context,
    model: str,
    version: str,
    *,
    endpoint: str | None = None,
    metrics_url: str | None = None,
    dry_run: bool = False,
    clients: int = DEFAULT_CLIENTS,
) -> DeployResult:
    _, settings = ctx.repo.environment(ctx.env)
    current = ctx.registry.alias_version(model, ctx.env)
    if (current is not None and str(current.version) == version) or pin_conflict(ctx, model, version):
        # Nothing to deploy (the controller re-reads the alias under its lock and says so), or a pin
        # in model.yaml holds the model: no backend, no metrics source, no server needed.
        return deploy(ctx, model, version, None, None, dry_run=dry_run)
    if settings.kubernetes_namespace and endpoint is None:
        url = metrics_url or os.environ.get(PROMETHEUS_ENV)
        if not url and not dry_run:
            raise BackendError(
                f"'{ctx.env}' runs on Kubernetes: give the Prometheus URL with --metrics-url "
                f"or {PROMETHEUS_ENV}"
            )
        backend = KubernetesBackend(LiveKubectl(settings.kubernetes_namespace))
        source = PrometheusSource(url or "http://prometheus.invalid")
        return deploy(ctx, model, version, backend, source, dry_run=dry_run)
    target = endpoint or settings.serving_endpoint
    if dry_run:
        load = LoadDriver(target, model, replay_inputs(ctx.repo, model), clients=clients)
        return deploy(ctx, model, version, None, None, load=load, dry_run=True)
    if current is None:
        # First version: promoted directly; a server started from now on serves it.
        return deploy(ctx, model, version, None, None)
    server = ensure_server(ctx.repo.root, ctx.env, target, ctx.repo.state_dir)
    if server.started_here:
        print(f"==> started `aip serve --env {ctx.env}` at {target} for the rollout", file=sys.stderr)
    try:
        return deploy_with_server(ctx, model, version, server, clients=clients, metrics_endpoint=metrics_url)
    finally:
        if server.started_here:
            server.stop()
            print(
                f"==> stopped the server started for the rollout; to keep serving: aip serve --env {ctx.env}",
                file=sys.stderr,
            )
