"""`aip card`: the CLI face of pipelines/cards (parsing and printing only)."""

from __future__ import annotations

import argparse
import sys

from pipelines.cli.errors import EXIT_FAILED


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `aip card` on the top-level subparsers (called from pipelines/cli/main.py)."""
    p = sub.add_parser(
        "card",
        help="a registered version's model card (markdown + HTML), logged with the version",
        description=(
            "Build the model card of a registered version from model.yaml (card: intended use, "
            "out-of-scope uses, limitations, ethical considerations), dataset.yaml, platform.yaml teams and "
            "the registry (training params, data version, metrics with bootstrap intervals, gates, "
            "behavioural results, SHAP importances, per-class slices, deploy history, lineage). Writes "
            "<state_dir>/cards/<model>/v<N>/model-card.md|html, logs both to the version's training run "
            "(card/) and tags the version aip.card. `aip run` does this after every registration and "
            "deploy. Exit 1 when a required fact is missing (the message names the file and field). "
            "Docs: docs/model-cards.md"
        ),
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="model name(s) (default: every model)")
    p.add_argument("--env", metavar="ENV", help="environment from platform.yaml (default: 'local')")
    p.add_argument("--version", metavar="N", help="registered version (default: the one @ENV holds)")
    p.add_argument("--out", metavar="DIR", help="also copy model-card.md and .html into DIR")
    p.add_argument(
        "--check",
        action="store_true",
        help="only check that the card can be generated completely: writes and logs nothing",
    )
    p.add_argument("--no-log", action="store_true", help="write the files but log nothing to MLflow")
    p.set_defaults(handler="pipelines.cli.card_commands:cmd_card")


def cmd_card(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    from pipelines.cards import build_card, publish_card, resolve_version
    from pipelines.registry.context import Context
    from pipelines.repo.layout import Repo

    repo = Repo.discover()
    ctx = Context.open(repo, args.env)
    models = args.models or repo.model_names()
    if args.version is not None and len(models) != 1:
        print("error: --version needs exactly one MODEL", file=sys.stderr)
        return EXIT_FAILED
    failed = 0
    for model in models:
        version = resolve_version(ctx, model, args.version)
        print(f"==> {model} v{version}: model card", file=sys.stderr, flush=True)
        if args.check:
            card = build_card(ctx, model, version, slices=True)
        else:
            published = publish_card(ctx, model, version, log=not args.no_log)
            card = published.card
            print(published.html)
            if published.uri:
                print(f"    logged: {published.uri} (tag aip.card)", file=sys.stderr)
            if args.out:
                out = Path(args.out)
                out.mkdir(parents=True, exist_ok=True)
                for path in (published.markdown, published.html):
                    shutil.copy2(path, out / f"{model}-v{version}-{path.name}")
        for gap in card.gaps:
            print(f"error: {model} v{version}: card incomplete: {gap}", file=sys.stderr)
        if card.gaps:
            failed += 1
        elif args.check:
            print(f"ok: {model} v{version}: every required fact of the card was found")
    return EXIT_FAILED if failed else 0
