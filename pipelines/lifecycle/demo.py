"""The canary demo: real canary decisions on a machine that has only first versions.

    aip run --canary-demo-if-new   # what `make run` passes: only while no challenger was ever registered
    aip run --canary-demo          # what `make demo` passes: always

A fresh `make run` registers only first versions (promoted directly, nothing to compare). The demo
trains a challenger through the pipeline's own train step with another seed (model.yaml's seed +
SEED_OFFSET: its own fingerprint, params, metrics, data version, git commit and artifacts, gates
checked, registered once and tagged `aip.demo`), canaries it against the stable, and, if it was
promoted, canaries the repository's version back. Whatever the decisions, the demo ends with the
environment alias on the version it found there (the repository's): if the way back is not a
promotion, that version is restored directly, said in the output, recorded as event `restored` in
the deploy report, and tagged `aip.deploy.<env>.restored` on the version.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pipelines.errors import is_expected
from pipelines.lifecycle import steps
from pipelines.observability import logs

if TYPE_CHECKING:
    from pipelines.deploy.result import DeployResult
    from pipelines.deploy.server import LocalServer
    from pipelines.registry.context import Context

__all__ = ["DEMO_TAG", "SEED_OFFSET", "Mode", "challenger", "run_demo", "wanted"]

Mode = Literal["off", "if-new", "always"]
DEMO_TAG = "aip.demo"  # on the challenger's version and training run: seed-<seed>
RESTORED_TAG = "aip.deploy.{env}.restored"
SEED_OFFSET = 1000  # the challenger's seed: model.yaml's training seed + this

Deployer = Callable[..., "DeployResult"]


class Outcome(Protocol):
    """What the demo reads and writes of a model's run outcome (`pipelines.lifecycle.run.ModelOutcome`)."""

    model: str
    version: str  # the repository's version, which holds the environment alias
    demo: dict[str, Any]  # filled here: the challenger, the verdicts, any direct restore
    seconds: dict[str, float]  # "demo" added here


def say(message: str) -> None:
    logs.progress(message)


def wanted(ctx: Context, model: str, mode: Mode) -> bool:
    """Run the demo? Always when asked; for `if-new` only while no challenger was ever registered
    (a fresh state), so a rerun with nothing changed deploys nothing."""
    if mode == "always":
        return True
    if mode != "if-new":
        return False
    found = ctx.client.search_model_versions(f"name = '{model}'")
    return not any(DEMO_TAG in (v.tags or {}) for v in found)


def challenger(ctx: Context, model: str) -> str:
    """The registered seed variant of the model's current fingerprint (trained on first use)."""
    seed = ctx.repo.model(model).training.seed + SEED_OFFSET
    candidate = steps.find_candidate(ctx, model, seed)
    if candidate is not None and candidate.version is not None:
        say(f"    challenger: v{candidate.version} (seed {seed}, registered before)")
        return candidate.version
    if candidate is None:
        say(f"    challenger: training {model} with seed {seed} (the pipeline's train step)")
        candidate = steps.train(ctx, model, seed=seed)
    ctx.client.set_tag(candidate.run_id, DEMO_TAG, f"seed-{seed}")
    steps.evaluate(ctx, candidate)  # GateFailed: a challenger that fails its gates is not deployed
    evaluation = steps.last_passed_evaluation(ctx, candidate) or {}
    version = steps.register(ctx, candidate, evaluation)
    ctx.client.set_model_version_tag(model, version, DEMO_TAG, f"seed-{seed}")
    say(f"    challenger: v{version} (seed {seed})")
    return version


def run_demo(ctx: Context, outcome: Outcome, server: LocalServer, deployer: Deployer | None = None) -> None:
    """Canary a challenger, canary the repository's version back, and restore it directly if needed.

    `deployer` is `deploy_with_server` (tests pass a stand-in to force decisions)."""
    if deployer is None:
        from pipelines.deploy.runner import deploy_with_server

        deployer = deploy_with_server
    name = outcome.model
    stable = ctx.registry.alias_version(name, ctx.env)
    home = str(stable.version) if stable is not None else None
    if home is None or home != outcome.version:
        say(f"==> {name}: canary demo skipped: @{ctx.env} is not the repository's version v{outcome.version}")
        outcome.demo = {"skipped": f"@{ctx.env} is v{home}, not the repository's v{outcome.version}"}
        return
    say(f"==> {name}: canary demo (a challenger trained with another seed)")
    start = time.perf_counter()
    try:
        version = challenger(ctx, name)
    except Exception as exc:
        if not is_expected(exc):
            raise
        outcome.demo = {"error": str(exc)}
        say(f"error: {name}: canary demo: {exc}")
        return
    last: DeployResult | None = None
    try:
        last = deployer(ctx, name, version, server)
        outcome.demo = {"challenger": version, "verdict": last.verdict, "report": str(last.report or "")}
        if last.verdict == "promoted":
            say(f"==> {name}: canary demo: the repository's v{home} back")
            last = deployer(ctx, name, home, server)
            outcome.demo.update({"restored": home, "restore_verdict": last.verdict})
    finally:
        # Whatever happened above (a rollback of the way back, an abort, an exception), the demo
        # never leaves its challenger holding the alias: git describes `home`, not the challenger.
        current = ctx.registry.alias_version(name, ctx.env)
        if current is None or str(current.version) != home:
            why = (
                f"the canary back to v{home} ended {last.verdict}" if last is not None else "the demo stopped"
            )
            _restore_directly(ctx, name, home, server, last, why)
            outcome.demo.update({"restored": home, "restored_directly": why})
        outcome.seconds["demo"] = time.perf_counter() - start


def _restore_directly(
    ctx: Context, model: str, home: str, server: LocalServer, result: DeployResult | None, why: str
) -> None:
    """Serve `home` as stable and point the alias at it, without a canary; say so everywhere."""
    from pipelines.deploy.backends import BackendError, LocalServerBackend

    say(f"==> {model}: RESTORED v{home} to @{ctx.env} directly (no canary): {why}")
    backend = LocalServerBackend(server.endpoint, server.token)
    try:
        status = backend.status(model)
        if status.canary is not None:
            backend.rollback(model)
        if status.stable != home:
            backend.load_canary(model, home)
            backend.promote(model)  # the label moves at weight 0: no request judged anything
    except BackendError as exc:
        say(
            f"    {model}: the server could not switch to v{home} ({exc}); "
            f"restart `aip serve --env {ctx.env}`"
        )
    ctx.registry.set_alias(model, ctx.env, home)
    ctx.client.set_model_version_tag(model, home, RESTORED_TAG.format(env=ctx.env), why[:4900])
    if result is not None:
        from pipelines.deploy.report import write

        result.events.append((time.time(), "restored"))
        result.reason = f"{result.reason}; then v{home} restored directly to @{ctx.env}: {why}"
        result.report, result.chart = write(ctx.repo.state_dir, result)
        say(f"    report: {result.report}")


def mode_of(canary_demo: bool | str) -> Mode:
    """`run(canary_demo=...)`: True means always (the historical flag), False off."""
    if canary_demo is True:
        return "always"
    if canary_demo in ("if-new", "always"):
        return canary_demo
    return "off"


def describe(demo: dict[str, Any]) -> str:
    """One line for the run summary."""
    return ", ".join(f"{k} {v}" for k, v in demo.items() if k != "report")
