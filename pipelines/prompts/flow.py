"""A prompt through the lifecycle: fingerprint → evaluate → register once → alias the environment.

`aip run` calls `run_prompt` for every prompt after its documents dataset was prepared (the index
is a DVC stage of that dataset). A prompt whose fingerprint already holds the environment's alias
is up to date; otherwise it is evaluated on the environment's generator and vector store, and only
when every gate passes is its fingerprint registered (once) and the alias moved onto it. The
report (markdown + JSON) lands where CI's pull-request comment reads reports from.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipelines.config import load_cases
from pipelines.prompts import registry
from pipelines.prompts.evaluation import PromptEvaluation, evaluate, report_markdown
from pipelines.prompts.fingerprint import compute
from pipelines.prompts.load import assistant, prompt_file, templates_of

if TYPE_CHECKING:
    from pathlib import Path

    from pipelines.registry.context import Context


@dataclass
class PromptRun:
    name: str
    status: str = "pending"  # up-to-date | registered | promoted | failed: <step>
    fingerprint: str = ""
    version: str = ""
    previous: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    gates: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    report: str = ""
    error: str = ""
    deploy: str = ""  # promoted | rolled_back | error (pipelines/deploy/prompt_canary.py)

    @property
    def ok(self) -> bool:
        return not self.status.startswith("failed")


def experiment_name(name: str) -> str:
    return f"prompts/{name}"


def report_dir(ctx: Context, name: str) -> Path:
    path = ctx.repo.state_dir / "reports" / ctx.env / "prompts" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def sync_store_if_needed(ctx: Context, dataset: str) -> None:
    """Milvus environments serve from a collection per index version: load it before evaluating."""
    _, settings = ctx.repo.environment(ctx.env)
    if settings.vector_store == "milvus":
        from pipelines.vectors import sync

        sync(ctx.repo, dataset, settings.milvus_uri)


def run_prompt(ctx: Context, name: str, *, progress: Any = None, set_alias: bool = True) -> PromptRun:
    """Evaluate and register one prompt in ctx.env; a missed gate is status `failed: gates` with the
    failed gates in `error` (nothing registered, the alias stays)."""
    say = progress or (lambda _message: None)
    outcome = PromptRun(name)
    config = prompt_file(ctx.repo, name)
    system, user = templates_of(ctx.repo, config)
    sync_store_if_needed(ctx, config.retrieval.dataset)

    from pipelines.vectors import read_manifest

    start = time.perf_counter()
    # The fingerprint needs only the index's manifest: the generator and the embedder (tens of seconds
    # to load) are loaded only when there is something to evaluate.
    fingerprint = compute(ctx.repo, config, read_manifest(ctx.repo, config.retrieval.dataset).version)
    outcome.fingerprint = fingerprint.short
    existing = registry.version_for(ctx.client, name, fingerprint.digest)
    champion = registry.alias_version(ctx.client, name, ctx.env)
    if existing is not None and champion is not None and existing.version == champion.version:
        say(
            f"==> prompt {name}: fingerprint {fingerprint.short} is v{existing.version}, "
            f"already @{ctx.env}: nothing to do"
        )
        outcome.status, outcome.version, outcome.metrics = "up-to-date", existing.version, existing.metrics
        return outcome
    _, settings = ctx.repo.environment(ctx.env)
    if existing is None and not settings.train:
        # As for models: versions are registered where new fingerprints are allowed (dev); later
        # environments promote what was registered there, never a version of their own.
        outcome.status = "failed: register"
        outcome.error = (
            f"prompt {name}: fingerprint {fingerprint.short} was never registered, and '{ctx.env}' only "
            f"promotes registered versions (platform.yaml train: false); merge it through dev first"
        )
        say(f"error: {outcome.error}")
        return outcome
    candidate = assistant(
        ctx.repo,
        ctx.env,
        config,
        system,
        user,
        version=existing.version if existing else "candidate",
        label=ctx.env,
        index_version=fingerprint.parts["index"],  # the store must hold the index fingerprinted
    )
    outcome.seconds["load"] = time.perf_counter() - start

    say(
        f"==> prompt {name}: evaluate (fingerprint {fingerprint.short}, "
        f"index {fingerprint.parts['index'][:12]}, "
        f"{candidate.generator.model_id} on {candidate.backend})"
    )
    start = time.perf_counter()
    result = evaluate(
        candidate,
        load_cases(ctx.repo.prompt_dir(name) / config.evaluation.cases),
        champion=champion.metrics if champion else None,
        progress=say,
    )
    outcome.seconds["evaluate"] = time.perf_counter() - start
    outcome.metrics = dict(result.metrics)
    outcome.gates = f"{sum(g.passed for g in result.gates)}/{len(result.gates)} passed"
    run_id = _log_run(ctx, name, fingerprint.digest, result, champion)
    outcome.report = str(write_report(ctx, result))
    if not result.passed:
        outcome.status = "failed: gates"
        failed = "; ".join(g.message for g in result.failed_gates())
        outcome.error = f"prompt {name}: gates failed: {failed} (report: {outcome.report})"
        say(f"error: {outcome.error}")
        return outcome

    start = time.perf_counter()
    gates = {g.gate: ("pass: " if g.passed else "FAIL: ") + g.message for g in result.gates}
    if existing is None:
        from pipelines.git import GitError, head_commit

        try:
            commit = head_commit(ctx.repo.root)
        except GitError:  # not a git checkout (an unpacked release): the fingerprint still identifies it
            commit = ""
        existing = registry.register(
            ctx.client,
            config,
            system,
            user,
            fingerprint,
            metrics=result.metrics,
            gates=gates,
            run_id=run_id,
            commit=commit,
        )
        outcome.status = "registered"
    else:
        outcome.status = "promoted"
    outcome.version = existing.version
    if not set_alias:
        outcome.seconds["register"] = time.perf_counter() - start
        say(f"    prompt {name}: v{existing.version} {outcome.status}; deploy to @{ctx.env}")
        return outcome
    outcome.previous = registry.set_alias(ctx.client, name, ctx.env, existing.version)
    outcome.seconds["register"] = time.perf_counter() - start
    say(
        f"    prompt {name}: v{existing.version} @{ctx.env}"
        + (f" (was v{outcome.previous})" if outcome.previous else "")
    )
    return outcome


def write_report(ctx: Context, result: PromptEvaluation) -> Path:
    folder = report_dir(ctx, result.prompt)
    (folder / "evaluation.json").write_text(json.dumps(result.as_dict(), indent=2, default=str) + "\n")
    path = folder / "evaluation.md"
    path.write_text(report_markdown(result))
    return path


def _log_run(
    ctx: Context, name: str, fingerprint: str, result: PromptEvaluation, champion: registry.Registered | None
) -> str:
    import math

    import mlflow

    from pipelines.registry.tracking import experiment_id

    exp = experiment_id(ctx.client, ctx.repo, experiment_name(name), ctx.env)
    tags = {
        "aip.fingerprint": fingerprint,
        "aip.step": "evaluate-prompt",
        "aip.env": ctx.env,
        "aip.champion_version": champion.version if champion else "none",
        "aip.gates": "passed" if result.passed else "failed",
    }
    with mlflow.start_run(
        experiment_id=exp, run_name=f"evaluate-{fingerprint[:12]}-{ctx.env}", tags=tags
    ) as run:
        mlflow.log_metrics({k: v for k, v in result.metrics.items() if not math.isnan(v)})
        mlflow.log_dict(result.as_dict(), "evaluation/evaluation.json")
        mlflow.log_text(report_markdown(result), "evaluation/evaluation.md")
        return str(run.info.run_id)
