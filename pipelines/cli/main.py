"""`aip`: every lifecycle step as a command that runs the same on a laptop and in CI.

    aip validate                      check every config file and the references between them
    aip run [MODEL ...] [--env ENV]   the main job: validate, data, train, evaluate, register, alias
    aip data validate DATASET         Great Expectations on the ingested data (DVC stage)
    aip affected --base REF           what a git diff touches, as a CI matrix (JSON)

Only argparse is imported at start-up; each command imports what it needs, so `--help` is quick.
Exit codes: 0 ok, 1 a step or gate failed, 2 bad usage or bad configuration.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from pipelines import __version__

Handler = Callable[[argparse.Namespace], int]


def _env_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env",
        metavar="ENV",
        help="environment from platform.yaml (default: platform.yaml's default_environment, 'local')",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aip",
        description="The AI platform engine: validate, data, train, evaluate, register.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `aip COMMAND --help` for a command's options. Docs: docs/cli.md",
    )
    parser.add_argument("--version", action="version", version=f"aip {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("validate", help="check every config file in the repo and their references")
    p.set_defaults(handler="pipelines.cli.commands:cmd_validate")

    p = sub.add_parser("schema", help="write the JSON Schemas of the config files to schemas/")
    p.add_argument("--check", action="store_true", help="fail if the committed schemas are stale")
    p.set_defaults(handler="pipelines.cli.commands:cmd_schema")

    p = sub.add_parser("affected", help="models, datasets, ... that a git diff touches, as JSON")
    p.add_argument("--base", required=True, metavar="REF", help="git ref to diff against (e.g. origin/main)")
    p.add_argument(
        "--head", default=None, metavar="REF", help="compare with this ref instead of the work tree"
    )
    p.set_defaults(handler="pipelines.cli.commands:cmd_affected")

    data = sub.add_parser("data", help="dataset stages: ingest, validate, split, prepare")
    data_sub = data.add_subparsers(dest="data_command", metavar="STEP", required=True)
    for step, text in (
        ("ingest", "read the source into data/raw.csv (DVC stage)"),
        ("validate", "run the Great Expectations suite; exit 1 with a summary on failure (DVC stage)"),
        ("split", "write the deterministic train/validation/test split (DVC stage)"),
        ("prepare", "pull from the environment's DVC remote, reproduce what is missing, push"),
    ):
        p = data_sub.add_parser(step, help=text, description=text)
        p.add_argument("dataset", help="dataset name (a folder under datasets/)")
        if step == "prepare":
            _env_option(p)
        p.set_defaults(handler=f"pipelines.cli.commands:cmd_data_{step}")

    p = sub.add_parser("train", help="train a model unless its fingerprint is already registered")
    p.add_argument("model", help="model name (a folder under models/)")
    p.add_argument("--force", action="store_true", help="train even if the fingerprint is known")
    _env_option(p)
    p.set_defaults(handler="pipelines.cli.commands:cmd_train")

    p = sub.add_parser("evaluate", help="evaluate the model's candidate against its gates")
    p.add_argument("model", help="model name")
    _env_option(p)
    p.set_defaults(handler="pipelines.cli.commands:cmd_evaluate")

    p = sub.add_parser("register", help="register the evaluated candidate and set the environment alias")
    p.add_argument("model", help="model name")
    p.add_argument("--no-alias", action="store_true", help="register without moving the alias")
    _env_option(p)
    p.set_defaults(handler="pipelines.cli.commands:cmd_register")

    p = sub.add_parser("run", help="the main job: validate, data, train, evaluate, register, alias")
    p.add_argument("models", nargs="*", metavar="MODEL", help="models to run (default: all)")
    _env_option(p)
    p.add_argument("--summary-json", metavar="FILE", help="also write the summary table as JSON")
    p.set_defaults(handler="pipelines.cli.commands:cmd_run")

    p = sub.add_parser("fingerprint", help="print a model's fingerprint and what it is made of")
    p.add_argument("model", help="model name")
    p.set_defaults(handler="pipelines.cli.commands:cmd_fingerprint")

    p = sub.add_parser("ui", help="open the MLflow UI on the environment's tracking store")
    p.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000)")
    _env_option(p)
    p.set_defaults(handler="pipelines.cli.commands:cmd_ui")
    return parser


def _resolve(spec: str) -> Handler:
    import importlib

    module, _, name = spec.partition(":")
    handler: Handler = getattr(importlib.import_module(module), name)
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from pipelines.cli.errors import run_handler
    from pipelines.offline import apply_offline_env

    apply_offline_env()

    return run_handler(_resolve(args.handler), args)


if __name__ == "__main__":
    sys.exit(main())
