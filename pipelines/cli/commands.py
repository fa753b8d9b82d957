"""Command handlers: parse → call the subpackage → print → exit code. No logic lives here."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines.cli.errors import EXIT_FAILED, EXIT_USAGE
from pipelines.repo.layout import Repo


def _repo() -> Repo:
    return Repo.discover()


def cmd_validate(args: argparse.Namespace) -> int:
    from pipelines.repo.validate import validate_repo

    repo = _repo()
    problems = validate_repo(repo)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return EXIT_USAGE
    print(f"ok: platform.yaml, {len(repo.model_names())} models, {len(repo.dataset_names())} datasets")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from pipelines.config.schema import stale_schemas, write_schemas

    repo = _repo()
    if args.check:
        stale = stale_schemas(repo.schemas_dir)
        if stale:
            print(
                f"stale schemas in {repo.schemas_dir}: {', '.join(stale)}; run `aip schema`", file=sys.stderr
            )
            return EXIT_FAILED
        print("ok: schemas are up to date")
        return 0
    for path in write_schemas(repo.schemas_dir):
        print(f"wrote {path.relative_to(repo.root)}")
    return 0


def cmd_affected(args: argparse.Namespace) -> int:
    from pipelines.repo.affected import affected, changed_files

    repo = _repo()
    result = affected(repo, changed_files(repo, args.base, args.head))
    print(json.dumps(result.as_dict(), indent=2))
    return 0


def cmd_data_ingest(args: argparse.Namespace) -> int:
    from pipelines.data import ingest

    path = ingest(_repo(), args.dataset)
    print(f"wrote {path}")
    return 0


def cmd_data_validate(args: argparse.Namespace) -> int:
    from pipelines.data import validate

    report = validate(_repo(), args.dataset)
    print(report.summary(), file=sys.stdout if report.success else sys.stderr)
    return 0 if report.success else EXIT_FAILED


def cmd_data_split(args: argparse.Namespace) -> int:
    from pipelines.data import split

    for name, path in split(_repo(), args.dataset).items():
        print(f"wrote {name}: {path}")
    return 0


def cmd_data_prepare(args: argparse.Namespace) -> int:
    from pipelines.data import DataValidationError, prepare

    try:
        version = prepare(_repo(), args.dataset, args.env, push=not args.no_push)
    except DataValidationError as exc:
        print(exc.report.summary(), file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.dataset}: data version {version}")
    return 0


def _context(env: str | None):  # type: ignore[no-untyped-def]
    from pipelines.registry.context import Context

    return Context.open(_repo(), env)


def cmd_fingerprint(args: argparse.Namespace) -> int:
    from pipelines.data import data_version
    from pipelines.registry.fingerprint import compute

    repo = _repo()
    fp = compute(repo, args.model, data_version(repo, repo.model(args.model).dataset))
    print(json.dumps({"model": args.model, "fingerprint": fp.digest, "parts": fp.parts}, indent=2))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from pipelines.cli.train_commands import launch_overrides
    from pipelines.lifecycle import steps

    ctx = _context(args.env)
    candidate = steps.train(
        ctx, args.model, force=args.force, launch=launch_overrides(args), resume=not args.no_resume
    )
    if candidate.notes and not candidate.run_id:  # a non-zero node of a multi-node job
        print(f"{args.model}: {candidate.notes[0]}")
    elif candidate.trained_now:
        print(f"{args.model}: trained fingerprint {candidate.fingerprint.short} (run {candidate.run_id})")
    elif candidate.version:
        print(
            f"{args.model}: fingerprint {candidate.fingerprint.short} is registered as v{candidate.version}; "
            "nothing to train (--force trains anyway)"
        )
    else:
        short = candidate.fingerprint.short
        print(f"{args.model}: fingerprint {short} already trained in run {candidate.run_id}")
    return 0


def _candidate(ctx, model: str):  # type: ignore[no-untyped-def]
    from pipelines.lifecycle import steps

    candidate = steps.find_candidate(ctx, model)
    if candidate is None:
        raise steps.StepFailed(
            f"{model}: no trained model for the current fingerprint; run `aip train {model}`"
        )
    return candidate


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pipelines.lifecycle import steps

    ctx = _context(args.env)
    try:
        result = steps.evaluate(ctx, _candidate(ctx, args.model))
    except steps.GateFailed as exc:
        print(exc.result.summary(), file=sys.stderr)
        return EXIT_FAILED
    print(result.summary())
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    from pipelines.lifecycle import steps

    ctx = _context(args.env)
    candidate = _candidate(ctx, args.model)
    evaluation = steps.last_passed_evaluation(ctx, candidate)
    if evaluation is None:
        print(
            f"{args.model}: fingerprint {candidate.fingerprint.short} has no passing evaluation in "
            f"'{ctx.env}'; run `aip evaluate {args.model} --env {ctx.env}`",
            file=sys.stderr,
        )
        return EXIT_FAILED
    version = steps.register(ctx, candidate, evaluation)
    print(f"{args.model}: fingerprint {candidate.fingerprint.short} is v{version}")
    if not args.no_alias:
        previous = steps.set_alias(ctx, candidate)
        print(f"{args.model}: @{ctx.env} -> v{version}" + (f" (was v{previous})" if previous else ""))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.lifecycle.run import run
    from pipelines.lifecycle.summary import render

    report = run(
        _repo(), args.models or None, args.env, canary_demo=getattr(args, "canary_demo", None) or "off"
    )
    print(render(report))
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    return 0 if report.ok else EXIT_FAILED


def cmd_ui(args: argparse.Namespace) -> int:
    import os

    from pipelines.registry.tracking import artifact_root, tracking_uri

    repo = _repo()
    uri = tracking_uri(repo, args.env)
    if not uri.startswith("sqlite:"):
        print(f"'{args.env or 'local'}' uses the server {uri}: open it in a browser instead")
        _print_ui_links(repo, args.env, uri)
        return 0
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        uri,
        "--default-artifact-root",
        artifact_root(repo, args.env),
        "--host",
        "127.0.0.1",
        "--port",
        str(args.port),
    ]
    print(f"MLflow UI on http://127.0.0.1:{args.port} (Ctrl-C stops it)")
    if Path(uri.removeprefix("sqlite:///")).is_file():
        _print_ui_links(repo, args.env, f"http://127.0.0.1:{args.port}")
    else:
        print("  nothing tracked yet: `make run` trains, evaluates and registers the models")
    sys.stdout.flush()  # execv replaces the process: unflushed lines would be lost
    os.execv(sys.executable, command)
    return 0  # pragma: no cover - execv does not return


def _print_ui_links(repo: Repo, env: str | None, base_url: str) -> None:
    from pipelines.registry.tracking import TrackingUnavailable, connect, ui_links

    try:
        client = connect(repo, env)
    except TrackingUnavailable as exc:
        print(f"  {exc}")
        return
    print("\n".join(ui_links(client, base_url)))
