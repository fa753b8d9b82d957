"""`aip prompts`: the CLI face of pipelines/prompts (parsing and printing only)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines.cli.errors import EXIT_FAILED


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `aip prompts ...` on the top-level subparsers (called from pipelines/cli/main.py)."""
    prompts = sub.add_parser(
        "prompts",
        help="prompts as files: list, answer a question, evaluate against the gates, register",
        description="Prompts live in prompts/<name>/ (prompt.yaml, templates, cases.yaml). `aip run` "
        "evaluates and registers them beside the models; these commands run one step. Docs: docs/prompts.md",
    )
    psub = prompts.add_subparsers(dest="prompts_command", metavar="COMMAND", required=True)

    p = psub.add_parser("list", help="every prompt, its dataset, and the version each environment serves")
    p.add_argument("--env", metavar="ENV", help="environment from platform.yaml (default: 'local')")
    p.set_defaults(handler="pipelines.cli.prompt_commands:cmd_list")

    p = psub.add_parser(
        "answer",
        help="answer a question with a prompt (the working tree's files, or --registered)",
        description="Retrieve, render, generate and cite, exactly as `aip serve`'s /v1/chat/completions "
        "does. Exit 1 when the question is refused as out of scope.",
    )
    p.add_argument("prompt", help="prompt name (a folder under prompts/)")
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("--env", metavar="ENV", help="environment from platform.yaml (default: 'local')")
    p.add_argument("--json", action="store_true", help="ask for a JSON object answer")
    p.add_argument(
        "--registered", action="store_true", help="use the version @ENV in the registry, not the files"
    )
    p.add_argument("--max-tokens", type=int, metavar="N", help="fewer tokens than the prompt's max_tokens")
    p.set_defaults(handler="pipelines.cli.prompt_commands:cmd_answer")

    p = psub.add_parser(
        "evaluate",
        help="evaluate the working tree's prompt against its gates and @ENV's champion (no registration)",
        description="Retrieval metrics, golden cases, refusals, groundedness and latency on the "
        "environment's generator and vector store; writes the report where the PR comment reads it. "
        "Exit 1 when a gate fails.",
    )
    p.add_argument("prompt", help="prompt name (a folder under prompts/)")
    p.add_argument("--env", metavar="ENV", help="environment from platform.yaml (default: 'local')")
    p.add_argument("--json-out", metavar="FILE", help="also write the evaluation as JSON")
    p.add_argument(
        "--champion-env",
        metavar="ENV",
        help="compare with the version @ENV in ENV's registry, evaluated here on the same generator and "
        "index (pull requests: the difference from production's prompt); default or empty: the "
        "recorded metrics of @--env's version",
    )
    p.set_defaults(handler="pipelines.cli.prompt_commands:cmd_evaluate")


def cmd_list(args: argparse.Namespace) -> int:
    from pipelines.prompts import prompt_file
    from pipelines.prompts.registry import alias_version
    from pipelines.registry.tracking import connect
    from pipelines.repo.layout import Repo

    repo = Repo.discover()
    env, _ = repo.environment(args.env)
    client = connect(repo, env)
    for name in repo.prompt_names():
        config = prompt_file(repo, name)
        served = alias_version(client, name, env)
        where = f"v{served.version} @{env}" if served else f"nothing @{env}"
        print(f"{name}: {config.description} [retrieves {config.retrieval.dataset}; {where}]")
    return 0


def cmd_answer(args: argparse.Namespace) -> int:
    from pipelines.prompts import from_files, from_registered
    from pipelines.prompts.registry import alias_version
    from pipelines.registry.tracking import connect
    from pipelines.repo.layout import Repo

    repo = Repo.discover()
    env, _ = repo.environment(args.env)
    if args.registered:
        registered = alias_version(connect(repo, env), args.prompt, env)
        if registered is None:
            print(
                f"{args.prompt}: no version holds @{env}; `aip run {args.prompt} --env {env}` registers one",
                file=sys.stderr,
            )
            return EXIT_FAILED
        assistant = from_registered(repo, env, registered, env)
    else:
        assistant = from_files(repo, args.prompt, env)
    print(
        f"{args.prompt} v{assistant.version}: retrieving from {assistant.backend}, "
        f"generating with {assistant.generator.model_id}",
        file=sys.stderr,
    )
    answer = assistant.answer(
        [{"role": "user", "content": args.question}], max_tokens=args.max_tokens, json=args.json
    )
    print(answer.text)
    if answer.completion is not None:
        c = answer.completion
        print(
            f"({c.prompt_tokens} prompt + {c.completion_tokens} answer tokens, first token "
            f"{c.first_token_seconds:.2f} s, {c.seconds:.1f} s; "
            f"retrieval {answer.retrieval_seconds * 1000:.0f} ms)",
            file=sys.stderr,
        )
    return 0 if answer.refused is None else EXIT_FAILED


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pipelines.config import load_cases
    from pipelines.observability import logs
    from pipelines.prompts import from_files, from_registered
    from pipelines.prompts.evaluation import evaluate
    from pipelines.prompts.flow import sync_store_if_needed, write_report
    from pipelines.prompts.registry import alias_version
    from pipelines.registry.context import Context
    from pipelines.registry.tracking import connect
    from pipelines.repo.layout import Repo

    repo = Repo.discover()
    ctx = Context.open(repo, args.env)
    assistant = from_files(repo, args.prompt, ctx.env)
    sync_store_if_needed(ctx, assistant.config.retrieval.dataset)
    cases = load_cases(repo.prompt_dir(args.prompt) / assistant.config.evaluation.cases)
    champion_env = args.champion_env or ctx.env
    client = ctx.client if champion_env == ctx.env else connect(repo, champion_env)
    champion = alias_version(client, args.prompt, champion_env)
    logs.progress(
        f"==> prompt {args.prompt}: evaluate against "
        + (f"v{champion.version} @{champion_env}" if champion else "its gates (no champion yet)")
    )
    champion_metrics = champion.metrics if champion else None
    if champion is not None and args.champion_env:
        logs.progress(
            f"==> prompt {args.prompt}: v{champion.version} @{champion_env}, "
            "evaluated here for a fair difference"
        )
        rival = from_registered(repo, ctx.env, champion, champion_env, strict_index=False)
        champion_metrics = evaluate(rival, cases, progress=logs.progress).metrics
    result = evaluate(assistant, cases, champion=champion_metrics, progress=logs.progress)
    report = write_report(ctx, result)
    print(report.read_text())
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result.as_dict(), indent=2, default=str), encoding="utf-8")
    return 0 if result.passed else EXIT_FAILED
