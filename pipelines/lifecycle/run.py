"""`aip run`: validate → data → train (unseen fingerprints only) → evaluate → register → alias.

Every model named (default: all) goes through the steps in order. A model that fails a step
stops there; the others carry on; the exit code is non-zero if any failed. A summary table
ends the run. Re-running with nothing changed trains, evaluates and registers nothing.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

from pipelines.lifecycle import steps
from pipelines.lifecycle.context import Context
from pipelines.repo.layout import Repo


@dataclass
class ModelOutcome:
    model: str
    status: str = "pending"  # up-to-date | registered | failed: <step>
    fingerprint: str = ""
    version: str = ""
    previous: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    gates: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.status.startswith("failed")


@dataclass
class RunReport:
    env: str
    outcomes: list[ModelOutcome]
    seconds: dict[str, float]  # shared steps: validate, data

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "ok": self.ok,
            "seconds": self.seconds,
            "models": [o.__dict__ | {"ok": o.ok} for o in self.outcomes],
        }


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(repo: Repo, models: list[str] | None = None, env: str | None = None) -> RunReport:
    from pipelines.repo.validate import validate_repo

    start = time.perf_counter()
    say("==> validate")
    validate_repo(repo, raise_on_error=True)
    shared = {"validate": time.perf_counter() - start}

    names = models or repo.model_names()
    unknown = sorted(set(names) - set(repo.model_names()))
    if unknown:
        raise steps.StepFailed(
            f"unknown model(s): {', '.join(unknown)} (models/ has: {', '.join(repo.model_names())})"
        )
    ctx = Context.open(repo, env)
    outcomes = {name: ModelOutcome(name) for name in names}

    # Data once per dataset; a dataset that fails stops only the models that read it.
    from pipelines.data import DataError, prepare

    start = time.perf_counter()
    failed_data: dict[str, str] = {}
    for dataset in sorted({repo.model(n).dataset for n in names}):
        say(f"==> data: {dataset}")
        try:
            prepare(repo, dataset, ctx.env)
        except DataError as exc:
            failed_data[dataset] = str(exc)
            say(f"error: {exc}")
    shared["data"] = time.perf_counter() - start

    for name in names:
        outcome = outcomes[name]
        dataset = repo.model(name).dataset
        if dataset in failed_data:
            outcome.status, outcome.error = "failed: data", failed_data[dataset]
            continue
        _run_model(ctx, outcome)
    report = RunReport(ctx.env, [outcomes[n] for n in names], shared)
    return report


def _run_model(ctx: Context, outcome: ModelOutcome) -> None:
    name = outcome.model
    step = "train"
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

        step = "evaluate"
        say(f"==> {name}: evaluate")
        result, outcome.seconds["evaluate"] = steps.timed(steps.evaluate, ctx, candidate)
        outcome.metrics = dict(result.metrics)
        outcome.gates = f"{sum(g.passed for g in result.gates)}/{len(result.gates)} passed"

        step = "register"
        say(f"==> {name}: register")
        start = time.perf_counter()
        evaluation = steps.last_passed_evaluation(ctx, candidate) or {}
        was_registered = candidate.version is not None
        outcome.version = steps.register(ctx, candidate, evaluation)
        outcome.previous = steps.set_alias(ctx, candidate)
        outcome.seconds["register"] = time.perf_counter() - start
        outcome.status = (
            "promoted"
            if was_registered
            else ("trained+registered" if candidate.trained_now else "registered")
        )
        say(
            f"    {name}: v{outcome.version} @{ctx.env}"
            + (f" (was v{outcome.previous})" if outcome.previous else "")
        )
    except steps.GateFailed as exc:
        outcome.status, outcome.error = "failed: gates", str(exc)
        outcome.metrics = dict(exc.result.metrics)
        outcome.gates = f"{sum(g.passed for g in exc.result.gates)}/{len(exc.result.gates)} passed"
        say(f"error: {exc}")
    except Exception as exc:
        if not (getattr(exc, "user_facing", False) or type(exc).__module__.startswith("pipelines.")):
            raise
        outcome.status, outcome.error = f"failed: {step}", str(exc)
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
