"""`aip run`: validate → data → features → train (unseen fingerprints only) → evaluate → register → deploy.

The features step applies and materialises the Feast feature store of each dataset with `features`
(docs/features.md), after its data is prepared. Every model named (default: all) goes through the
steps in order. A model that fails a step stops there; the others carry on; the exit code is
non-zero if any failed. A summary table ends the run. Re-running with nothing changed trains,
evaluates and registers nothing.

Deploy (pipelines/deploy): a model's first version in the environment is promoted directly (the
alias is set); a new version is canaried against the environment's current stable and promoted
(the alias moves) or rolled back (the alias stays; the model counts as failed). On an environment
without Kubernetes the run starts `aip serve` on the serving endpoint if none answers, and stops
it at the end. The canary demo (pipelines/lifecycle/demo.py: `--canary-demo-if-new` in `make run`,
`--canary-demo` in `make demo`) then shows real canary decisions and ends on the repository's version.

Model cards (pipelines/cards, docs/model-cards.md) are written when a version is registered
(steps.register) and again after the deploy step (`_refresh_cards`): deploys add to their history.

The run's `pipeline` metrics (`metric_batches`) are pushed at the end: a Pushgateway or a
node-exporter textfile (pipelines/observability/push.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pipelines.errors import is_expected
from pipelines.lifecycle import steps
from pipelines.observability import logs
from pipelines.observability.push import Batch, push_quietly
from pipelines.registry.context import Context
from pipelines.repo.layout import Repo

if TYPE_CHECKING:
    from pipelines.deploy.result import DeployResult
    from pipelines.prompts.flow import PromptRun

Status = Literal[
    "pending",  # not through its steps yet
    "up-to-date",  # the fingerprint's version already holds the environment alias: nothing to do
    "registered",  # a finished training run of the fingerprint, evaluated and registered now
    "trained+registered",  # trained, evaluated and registered by this run
    "promoted",  # a version registered before (another environment), evaluated here; deploy moves the alias
    "failed: data",
    "failed: train",
    "failed: evaluate",
    "failed: gates",
    "failed: register",
    "failed: deploy",
    "failed: demo",  # the canary demo left the alias off the repository's version
]


@dataclass
class ModelOutcome:
    model: str
    status: Status = "pending"
    fingerprint: str = ""
    version: str = ""
    previous: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    gates: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    error: str = ""
    deploy: str = ""  # the deploy step's verdict (pipelines.deploy.result.Verdict), or "error"
    deploy_reason: str = ""
    deploy_report: str = ""
    demo: dict[str, Any] = field(default_factory=dict)  # the canary demo: its versions and verdicts

    @property
    def ok(self) -> bool:
        return not self.status.startswith("failed")


@dataclass
class RunReport:
    env: str
    outcomes: list[ModelOutcome]
    seconds: dict[str, float]  # shared steps: validate, data
    prompts: list[PromptRun] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes) and all(p.ok for p in self.prompts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "ok": self.ok,
            "seconds": self.seconds,
            "models": [o.__dict__ | {"ok": o.ok} for o in self.outcomes],
            "prompts": [p.__dict__ | {"ok": p.ok} for p in self.prompts],
        }


def say(message: str) -> None:
    logs.progress(message)


def run(
    repo: Repo,
    models: list[str] | None = None,
    env: str | None = None,
    *,
    canary_demo: bool | str = False,
) -> RunReport:
    """`canary_demo`: False/"off", "if-new" (only while no challenger was ever registered) or
    True/"always"; see pipelines/lifecycle/demo.py."""
    from pipelines.repo.validate import validate_repo

    logs.start_progress("aip-run", env or repo.platform.default_environment)
    start = time.perf_counter()
    say("==> validate")
    validate_repo(repo, raise_on_error=True)
    shared = {"validate": time.perf_counter() - start}

    # Names may be models or prompts; none names every model and every prompt.
    asked = models or repo.model_names() + repo.prompt_names()
    unknown = sorted(set(asked) - set(repo.model_names()) - set(repo.prompt_names()))
    if unknown:
        raise steps.StepFailed(
            f"unknown model or prompt(s): {', '.join(unknown)} "
            f"(models/ has: {', '.join(repo.model_names())}; "
            f"prompts/ has: {', '.join(repo.prompt_names()) or 'none'})"
        )
    names = [n for n in asked if n in repo.model_names()]
    prompt_names = [n for n in asked if n in repo.prompt_names()]
    ctx = Context.open(repo, env)
    outcomes = {name: ModelOutcome(name) for name in names}

    # Data once per dataset; a dataset that fails stops only the models and prompts that read it.
    from pipelines.data import DataError, prepare
    from pipelines.prompts import prompt_file

    start = time.perf_counter()
    failed_data: dict[str, str] = {}
    prompt_datasets = {p: prompt_file(repo, p).retrieval.dataset for p in prompt_names}
    for dataset in sorted({repo.model(n).dataset for n in names} | set(prompt_datasets.values())):
        say(f"==> data: {dataset}")
        try:
            prepare(repo, dataset, ctx.env)
        except DataError as exc:
            failed_data[dataset] = str(exc)
            say(f"error: {exc}")
    shared["data"] = time.perf_counter() - start
    _features_step(repo, ctx.env, names, failed_data, shared)

    for name in names:
        outcome = outcomes[name]
        dataset = repo.model(name).dataset
        if dataset in failed_data:
            outcome.status, outcome.error = "failed: data", failed_data[dataset]
            continue
        _run_model(ctx, outcome)
    _deploy_step(ctx, [outcomes[n] for n in names], canary_demo)
    _refresh_cards(ctx, [outcomes[n] for n in names])
    prompt_runs = [_run_prompt(ctx, p, failed_data.get(prompt_datasets[p])) for p in prompt_names]
    report = RunReport(ctx.env, [outcomes[n] for n in names], shared, prompt_runs)
    push_run_report(repo, report)
    return report


def _features_step(
    repo: Repo, env: str, models: list[str], failed_data: dict[str, str], seconds: dict[str, float]
) -> None:
    """Apply and materialise the feature store of each prepared dataset with `features` (dataset.yaml):
    training reads it offline, the server online; a failure stops only that dataset's models."""
    datasets = sorted({repo.model(n).dataset for n in models} - set(failed_data))
    datasets = [d for d in datasets if repo.dataset(d).features is not None]
    if not datasets:
        return
    from pipelines.features import materialize

    start = time.perf_counter()
    for dataset in datasets:
        say(f"==> features: {dataset} (apply, materialize into the '{env}' online store)")
        try:
            materialize(repo, dataset, env, progress=say)
        except Exception as exc:
            if not is_expected(exc):
                raise
            failed_data[dataset] = str(exc)
            say(f"error: {exc}")
    seconds["features"] = time.perf_counter() - start


def _run_prompt(ctx: Context, name: str, data_error: str | None) -> PromptRun:
    """Evaluate, register and alias one prompt (pipelines/prompts/flow.py); failures stop only it."""
    from pipelines.deploy.prompt_canary import deploy_prompt
    from pipelines.prompts.flow import PromptRun, run_prompt

    if data_error is not None:
        return PromptRun(name, status="failed: data", error=f"prompt {name}: {data_error}")
    try:
        outcome = run_prompt(ctx, name, progress=say, set_alias=False)
    except Exception as exc:
        if not is_expected(exc):
            raise
        say(f"error: prompt {name}: {exc}")
        return PromptRun(name, status="failed: evaluate", error=f"prompt {name}: {exc}")
    if not outcome.ok or outcome.status == "up-to-date":
        return outcome
    # The alias moves here: directly for a first version, after a canary against stable otherwise.
    start = time.perf_counter()
    try:
        result = deploy_prompt(ctx, name, outcome.version, progress=say)
    except Exception as exc:
        if not is_expected(exc):
            raise
        outcome.status, outcome.error, outcome.deploy = "failed: deploy", f"prompt {name}: {exc}", "error"
        return outcome
    outcome.seconds["deploy"] = time.perf_counter() - start
    outcome.deploy, outcome.previous = result.verdict, result.stable or None
    if not result.ok:
        outcome.status, outcome.error = "failed: deploy", f"prompt {name}: {result.verdict}: {result.reason}"
    return outcome


def metric_batches(report: RunReport, now: float | None = None) -> list[Batch]:
    """The `pipeline` catalogue metrics of one `aip run`, one push batch per model."""
    now = time.time() if now is None else now
    batches = []
    for outcome in report.outcomes:
        batch = Batch(
            "aip-pipeline",
            {"model": outcome.model, "env": report.env},
            keep={"aip_pipeline_last_success_timestamp_seconds"},
        )
        batch.add("aip_pipeline_runs_total", 1, status="success" if outcome.ok else "failed")
        batch.add("aip_pipeline_last_run_timestamp_seconds", now)
        batch.add("aip_pipeline_last_run_success", 1 if outcome.ok else 0)
        if outcome.ok:
            batch.add("aip_pipeline_last_success_timestamp_seconds", now)
        for step, seconds in {**report.seconds, **outcome.seconds}.items():
            batch.add("aip_pipeline_step_duration_seconds", seconds, step=step)
        batches.append(batch)
    return batches


def push_run_report(repo: Repo, report: RunReport) -> list[str]:
    """Push each model's run metrics (best effort: a failure is a warning); returns where they went."""
    return push_quietly(repo, metric_batches(report))


def _run_model(ctx: Context, outcome: ModelOutcome) -> None:
    name = outcome.model
    failed: Status = "failed: train"  # what an expected error in the step under way makes the status
    try:
        say(f"==> {name}: fingerprint")
        candidate, outcome.seconds["train"] = steps.timed(steps.find_candidate, ctx, name)
        if candidate is None:
            say(f"==> {name}: train (new fingerprint)")
            candidate, seconds = steps.timed(steps.train, ctx, name)
            outcome.seconds["train"] += seconds
        outcome.fingerprint = candidate.fingerprint.short
        for note in candidate.notes:
            say(f"    {name}: {note}")

        champion = ctx.registry.alias_version(name, ctx.env)
        if (
            candidate.version is not None
            and champion is not None
            and str(champion.version) == candidate.version
        ):
            say(
                f"==> {name}: fingerprint {candidate.fingerprint.short} is v{candidate.version}, "
                f"already @{ctx.env}: nothing to do"
            )
            outcome.status, outcome.version = "up-to-date", candidate.version
            _metrics_from_version(ctx, outcome)
            return

        failed = "failed: evaluate"
        say(f"==> {name}: evaluate")
        result, outcome.seconds["evaluate"] = steps.timed(steps.evaluate, ctx, candidate)
        outcome.metrics = dict(result.metrics)
        outcome.gates = f"{sum(g.passed for g in result.gates)}/{len(result.gates)} passed"

        failed = "failed: register"
        say(f"==> {name}: register")
        start = time.perf_counter()
        evaluation = steps.last_passed_evaluation(ctx, candidate) or {}
        was_registered = candidate.version is not None
        outcome.version = steps.register(ctx, candidate, evaluation)
        # The alias moves in the deploy step (first version: directly; else after a canary).
        outcome.previous = str(champion.version) if champion is not None else None
        outcome.seconds["register"] = time.perf_counter() - start
        outcome.status = (
            "promoted"
            if was_registered
            else ("trained+registered" if candidate.trained_now else "registered")
        )
        say(
            f"    {name}: v{outcome.version} registered; deploy to @{ctx.env}"
            + (f" (stable v{outcome.previous})" if outcome.previous else " (first version)")
        )
    except steps.GateFailed as exc:
        outcome.status, outcome.error = "failed: gates", str(exc)
        outcome.metrics = dict(exc.result.metrics)
        outcome.gates = f"{sum(g.passed for g in exc.result.gates)}/{len(exc.result.gates)} passed"
        say(f"error: {exc}")
    except Exception as exc:
        if not is_expected(exc):
            raise
        outcome.status, outcome.error = failed, str(exc)
        say(f"error: {name}: {exc}")


def _metrics_from_version(ctx: Context, outcome: ModelOutcome) -> None:
    version = ctx.client.get_model_version(outcome.model, outcome.version)
    outcome.metrics = {
        k.removeprefix("aip.metric.test_"): float(v)
        for k, v in version.tags.items()
        if k.startswith("aip.metric.test_")
    }
    gates = [v for k, v in version.tags.items() if k.startswith("aip.gate.")]
    outcome.gates = f"{sum(g.startswith('pass') for g in gates)}/{len(gates)} passed" if gates else ""


# ---- deploy ----------------------------------------------------------------------------------
def _deploy_step(ctx: Context, outcomes: list[ModelOutcome], canary_demo: bool | str) -> None:
    """First versions: promoted directly. New versions: canaried, with a server if one is needed."""
    from pipelines.deploy.controller import deploy
    from pipelines.lifecycle import demo as canary_demo_module

    pending = [o for o in outcomes if o.ok and o.status != "up-to-date" and o.version]
    canaries = []
    for outcome in pending:
        if outcome.previous is None:
            start = time.perf_counter()
            result = deploy(ctx, outcome.model, outcome.version, None, None)
            _record(outcome, result, time.perf_counter() - start)
        else:
            canaries.append(outcome)
    mode = canary_demo_module.mode_of(canary_demo)
    _, settings = ctx.repo.environment(ctx.env)
    demo = [
        o
        for o in outcomes
        if o.ok
        and mode != "off"
        and not settings.kubernetes_namespace  # the demo drives a local `aip serve`
        and ctx.repo.model(o.model).task.startswith("tabular")
        and canary_demo_module.wanted(ctx, o.model, mode)
    ]
    if mode == "if-new" and not demo:
        say("==> canary demo: shown before (a challenger is registered); `make demo` shows it again")
    if mode != "off" and settings.kubernetes_namespace:
        say(f"==> canary demo: skipped on '{ctx.env}' (Kubernetes); it runs on a local `aip serve` only")
    if not canaries and not demo:
        return
    if settings.kubernetes_namespace:
        from pipelines.deploy.runner import deploy_in_env

        for outcome in canaries:
            start = time.perf_counter()
            try:
                result = deploy_in_env(ctx, outcome.model, outcome.version)
            except Exception as exc:
                if not is_expected(exc):
                    raise
                outcome.status, outcome.error, outcome.deploy = "failed: deploy", str(exc), "error"
                continue
            _record(outcome, result, time.perf_counter() - start)
        return
    _deploy_on_local_server(ctx, settings.serving_endpoint, canaries, demo)


def _deploy_on_local_server(
    ctx: Context, endpoint: str, canaries: list[ModelOutcome], demo: list[ModelOutcome]
) -> None:
    from pipelines.deploy.runner import deploy_with_server
    from pipelines.deploy.server import ensure_server

    say(f"==> deploy: canaries need a server at {endpoint}")
    try:
        server = ensure_server(ctx.repo.root, ctx.env, endpoint, ctx.repo.state_dir)
    except Exception as exc:
        if not is_expected(exc):
            raise
        for outcome in canaries:
            outcome.status, outcome.error, outcome.deploy = "failed: deploy", str(exc), "error"
        say(f"error: {exc}")
        return
    if server.started_here:
        say(f"    started `aip serve --env {ctx.env}` at {endpoint} (log {server.log})")
    try:
        for outcome in canaries:
            start = time.perf_counter()
            result = deploy_with_server(ctx, outcome.model, outcome.version, server)
            _record(outcome, result, time.perf_counter() - start)
        from pipelines.lifecycle.demo import run_demo

        for outcome in demo:
            run_demo(ctx, outcome, server)
            if outcome.demo.get("challenger") and not _alias_is(ctx, outcome):
                outcome.status = "failed: demo"
                outcome.error = f"@{ctx.env} is not v{outcome.version} after the canary demo"
    finally:
        if server.started_here:
            server.stop()
            say(f"==> stopped the server this run started; to keep serving: aip serve --env {ctx.env}")


def _refresh_cards(ctx: Context, outcomes: list[ModelOutcome]) -> None:
    """A deploy adds history to a version's model card (verdict, alias): write it again. The card was
    first written at registration (steps.register); the demo's challenger and the version it
    restores changed history too."""
    for outcome in outcomes:
        versions = [outcome.version] if outcome.version and (outcome.deploy or outcome.demo) else []
        if challenger := outcome.demo.get("challenger"):
            versions.append(str(challenger))
        for version in versions:
            steps.card(ctx, outcome.model, version)


def _record(outcome: ModelOutcome, result: DeployResult, seconds: float) -> None:
    outcome.deploy, outcome.deploy_reason = result.verdict, result.reason
    outcome.seconds["deploy"] = seconds
    outcome.deploy_report = str(result.report) if result.report else ""
    if not result.ok:
        outcome.status, outcome.error = "failed: deploy", f"{result.verdict}: {result.reason}"


def _alias_is(ctx: Context, outcome: ModelOutcome) -> bool:
    current = ctx.registry.alias_version(outcome.model, ctx.env)
    return current is not None and str(current.version) == outcome.version
