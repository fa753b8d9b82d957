"""`aip deploy`: the CLI face of pipelines/deploy (parsing and printing only)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from pipelines.cli.errors import EXIT_FAILED

if TYPE_CHECKING:
    from pathlib import Path

    from pipelines.deploy.result import DeployResult
    from pipelines.repo.layout import Repo


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `aip deploy` on the top-level subparsers (called from pipelines/cli/main.py)."""
    p = sub.add_parser(
        "deploy",
        help="canary a registered version against the environment's stable; promote or roll back",
        description=(
            "Progressive canary from model.yaml's environments.<env>.rollout steps: traffic weights, "
            "analysis of the canary against a baseline (a fresh copy of stable with the same traffic "
            "share: errors, latency, prediction shift), then promotion (the "
            "environment alias and the 'stable' label move) or rollback. On the embedded default the "
            "controller starts `aip serve` if none answers and replays the test split as traffic. "
            "Without --version the version follows from the commit: the one registered for the model's "
            "fingerprint at HEAD (never the newest); when the alias already holds it, nothing is deployed. "
            "A pin in model.yaml wins (environments.<env>.hold: the alias stays, verdict held; "
            "environments.<env>.version: N is deployed; ADR 0022). "
            "Exit 0 when promoted (or nothing to do), 1 when rolled back or aborted or when the commit's "
            "fingerprint was never registered. Docs: docs/deploy.md"
        ),
    )
    p.add_argument(
        "model", help="model name (a folder under models/), or a prompt name (prompts/: a replayed canary)"
    )
    p.add_argument("--env", metavar="ENV", help="environment from platform.yaml (default: 'local')")
    p.add_argument(
        "--version",
        metavar="N",
        help="registered version to deploy (default: the version registered for the commit's fingerprint)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    p.add_argument(
        "--endpoint",
        metavar="URL",
        help="an `aip serve` to drive through its admin API (default: platform.yaml's serving_endpoint; "
        "its admin token comes from AIP_ADMIN_TOKEN)",
    )
    p.add_argument(
        "--metrics-url",
        metavar="URL",
        help="Kubernetes environments: the Prometheus URL (default: AIP_PROMETHEUS_URL)",
    )
    p.add_argument(
        "--clients",
        type=int,
        default=4,
        metavar="N",
        help="embedded default: concurrent clients replaying the test split (default 4)",
    )
    p.add_argument("--report-json", metavar="FILE", help="also copy the deploy report (JSON) to FILE")
    p.set_defaults(handler="pipelines.cli.deploy_commands:cmd_deploy")


def cmd_deploy(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pipelines.deploy.controller import resolve_version
    from pipelines.deploy.runner import deploy_in_env
    from pipelines.registry.context import Context
    from pipelines.repo.layout import Repo

    repo = Repo.discover()
    if args.model in repo.prompt_names():
        return _deploy_prompt(repo, args)
    repo.model(args.model)  # unknown model: a ConfigError naming the folders there are
    ctx = Context.open(repo, args.env)
    from pipelines.observability import logs

    logs.start_progress("aip-deploy", ctx.env)
    settings = repo.model(args.model).environment(ctx.env)
    pinned = f"models/{args.model}/model.yaml environments.{ctx.env}" + (
        f" ({settings.reason})" if settings.reason else ""
    )
    if args.version is None and settings.hold:
        # A pin in git (ADR 0022): the model does not move here; the controller reports `held`.
        current = ctx.registry.alias_version(args.model, ctx.env)
        version = str(current.version) if current is not None else ""
        print(f"{args.model}: held in {ctx.env} by {pinned}")
    elif args.version is None and settings.version is not None:
        version = resolve_version(ctx, args.model, str(settings.version))
        print(f"{args.model}: pinned to v{version} in {ctx.env} by {pinned}")
    elif args.version is None:
        # What the commit describes: the version registered for the model's fingerprint at HEAD.
        # Resolved here because the deploy layer must not import the lifecycle (fingerprint_of).
        from pipelines.lifecycle.steps import fingerprint_of, not_registered_message

        fingerprint, _ = fingerprint_of(ctx, args.model)
        version = resolve_version(
            ctx,
            args.model,
            fingerprint=fingerprint.digest,
            unregistered=not_registered_message(ctx, args.model, fingerprint.digest)
            + "; the environment was not changed",
        )
        print(f"{args.model}: fingerprint {fingerprint.short} at HEAD is v{version}")
    else:
        version = resolve_version(ctx, args.model, args.version)
    result = deploy_in_env(
        ctx,
        args.model,
        version,
        endpoint=args.endpoint,
        metrics_url=args.metrics_url,
        dry_run=args.dry_run,
        clients=args.clients,
    )
    if args.dry_run:
        return 0
    line = f"{args.model}: v{version} @{ctx.env}: {result.verdict.replace('_', ' ')}"
    if result.reason:
        line += f" ({result.reason})"
    print(line)
    print(f"{args.model}: @{ctx.env} -> v{result.alias_version}   {result.seconds:.1f}s")
    if result.report is not None:
        print(f"report: {result.report}" + (f"   chart: {result.chart}" if result.chart else ""))
    if args.report_json:
        _write_report(Path(args.report_json), result)
    if not result.ok or (args.version is not None and result.verdict == "held"):
        print(f"error: {args.model} v{version} was not promoted: {result.verdict}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _write_report(path: Path, result: DeployResult) -> None:
    """The JSON deploy report (`aip ci deployed` reads it); its folder is made if missing."""
    import json

    from pipelines.deploy.report import as_dict

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(as_dict(result), indent=2), encoding="utf-8")


def _deploy_prompt(repo: Repo, args: argparse.Namespace) -> int:
    """`aip deploy PROMPT`: the commit's prompt version (or --version), canaried against @ENV."""
    from pipelines.deploy.prompt_canary import deploy_prompt
    from pipelines.observability import logs
    from pipelines.prompts import prompt_file
    from pipelines.prompts import registry as prompt_registry
    from pipelines.prompts.fingerprint import compute
    from pipelines.registry.context import Context
    from pipelines.vectors import open_store

    ctx = Context.open(repo, args.env)
    logs.start_progress("aip-deploy", ctx.env)
    version = args.version
    if version is None:
        config = prompt_file(repo, args.model)
        _, settings = repo.environment(ctx.env)
        store = open_store(repo, config.retrieval.dataset, settings.vector_store, settings.milvus_uri)
        fingerprint = compute(repo, config, store.manifest.version)
        registered = prompt_registry.version_for(ctx.client, args.model, fingerprint.digest)
        if registered is None:
            print(
                f"{args.model}: fingerprint {fingerprint.short} at HEAD was never registered; "
                f"`aip run {args.model} --env {ctx.env}` evaluates and registers it; "
                "the environment was not changed",
                file=sys.stderr,
            )
            return EXIT_FAILED
        version = registered.version
        print(f"{args.model}: fingerprint {fingerprint.short} at HEAD is v{version}")
    result = deploy_prompt(ctx, args.model, version, progress=logs.progress)
    print(f"{args.model}: {result.verdict.replace('_', ' ')} v{result.candidate} ({result.reason})")
    return 0 if result.ok else EXIT_FAILED
