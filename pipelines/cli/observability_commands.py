"""Handlers of `aip dashboards`, `aip metrics`, `aip logs` and `aip drift` (registered in
pipelines/cli/main.py)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.repo.layout import Repo

from pipelines.cli.errors import EXIT_FAILED, EXIT_USAGE


def _repo() -> Repo:
    from pipelines.repo.layout import Repo

    return Repo.discover()


def cmd_dashboards_build(args: argparse.Namespace) -> int:
    from pipelines.observability.dashboards import build

    repo = _repo()
    print("==> rendering dashboards/*.dashboard.py", file=sys.stderr, flush=True)
    result = build(repo.root, check=args.check)
    if args.check:
        if not result.ok:
            stale = ", ".join(str(p.relative_to(repo.root)) for p in result.stale)
            print(
                f"error: stale rendered dashboards or docs: {stale}; run `aip dashboards build`",
                file=sys.stderr,
            )
            return EXIT_FAILED
        print("ok: dashboards/rendered and docs/dashboards.md match the dashboard code")
        return 0
    for path in result.written:
        print(f"wrote {path.relative_to(repo.root)}")
    if not result.written:
        print("ok: nothing changed")
    return 0


def cmd_metrics_docs(args: argparse.Namespace) -> int:
    from pipelines.observability.metrics_doc import DOC, write

    repo = _repo()
    current = write(repo.root, check=args.check)
    if args.check and not current:
        print(f"error: {DOC} is stale; run `aip metrics docs`", file=sys.stderr)
        return EXIT_FAILED
    print(f"ok: {DOC} is up to date" if current else f"wrote {DOC}")
    return 0


def cmd_logs_apply_template(args: argparse.Namespace) -> int:
    from pipelines.observability.elasticsearch import URL_ENV, apply

    url = args.url or os.environ.get(URL_ENV)
    if not url:
        print(f"error: no cluster: pass --url or set {URL_ENV}", file=sys.stderr)
        return EXIT_USAGE
    root = _repo().root
    for done in apply(url, root, timeout=args.timeout):  # TemplateError: one line, exit 1
        print(f"applied {done.path} from {done.source.relative_to(root)}")
    return 0


def _when(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{option} {text!r} is not an ISO date or time (e.g. 2026-11-01 or 2026-11-01T12:00)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cmd_drift(args: argparse.Namespace) -> int:
    from pipelines.monitoring import drift, report
    from pipelines.observability.push import push_quietly

    repo = _repo()
    env, _ = repo.environment(args.env)
    if args.model in repo.prompt_names():
        return _query_drift(repo, env, args)
    if args.model not in repo.model_names():
        print(
            f"error: unknown model '{args.model}' (models/ has: {', '.join(repo.model_names())})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        since, until = _window(args, args.days or repo.model(args.model).monitoring.window_days)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result = drift.check(
        repo,
        args.model,
        env,
        since=since,
        until=until,
        version=args.version,
        sink=args.sink,
        feedback=args.feedback,
        reference_predictions=args.reference_predictions,
    )
    out = Path(args.out) if args.out else repo.state_dir / "reports" / env / args.model / "drift"
    json_path, html_path = report.write(result, out)
    if not args.no_push:
        for where in push_quietly(repo, [drift.metric_batch(result)]):
            print(f"    metrics: {where}", file=sys.stderr)
    print(f"{args.model} @{env}: {result.status.replace('_', ' ')} ({result.samples} samples)")
    for reason in result.reasons:
        print(f"  - {reason}")
    for note in result.notes:
        print(f"  note: {note}")
    print(f"report: {html_path}\njson:   {json_path}")
    return result.exit_code


def _window(args: argparse.Namespace, days: int) -> tuple[datetime, datetime]:
    """[--since, --until): the last `days` days by default; ValueError naming the bad flag."""
    until = _when(args.until, "--until") if args.until else datetime.now(UTC)
    since = _when(args.since, "--since") if args.since else until - timedelta(days=days)
    if since >= until:
        raise ValueError(f"--since {since.isoformat()} is not before --until {until.isoformat()}")
    return since, until


def _query_drift(repo: Repo, env: str, args: argparse.Namespace) -> int:
    """`aip drift PROMPT`: sampled questions against the window before (or the evaluation questions)."""
    import json

    from pipelines.monitoring.queries import query_drift
    from pipelines.monitoring.sink import SampleSink, sink_uri

    try:
        since, until = _window(args, args.days or 7)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # The reference: the window of the same length just before (what users asked before), or the
    # prompt's evaluation questions with --reference-predictions labels (docs/prompts.md says why).
    window = None if args.reference_predictions == "labels" else (since - (until - since), since)
    result = query_drift(
        repo,
        SampleSink(args.sink or sink_uri(repo, env)),
        args.model,
        since,
        until,
        version=args.version,
        reference_window=window,
    )
    out = Path(args.out) if args.out else repo.state_dir / "reports" / env / "prompts" / args.model / "drift"
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "prompt": result.prompt,
        "env": env,
        "status": result.status,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "reference_questions": result.reference_questions,
        "window_questions": result.window_questions,
        "text": result.text,
    }
    (out / "query-drift.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    print(
        f"{args.model} @{env}: query {result.status.replace('_', ' ')} ({result.window_questions} questions "
        f"vs {result.reference_questions} reference)\njson: {out / 'query-drift.json'}"
    )
    return {"drift": 3, "insufficient_data": 4}.get(result.status, 0)


__all__ = [
    "EXIT_FAILED",
    "cmd_dashboards_build",
    "cmd_drift",
    "cmd_logs_apply_template",
    "cmd_metrics_docs",
]
