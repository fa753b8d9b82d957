"""`aip tune MODEL`: hyper-parameter search with Optuna (parsing and printing only; the work is
pipelines/tune, docs/tuning.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines.cli.errors import EXIT_FAILED


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more (got {value})")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `aip tune` on the top-level subparsers (called from pipelines/cli/main.py)."""
    p = sub.add_parser(
        "tune",
        help="hyper-parameter search of a model's training section (Optuna; model.yaml `search`)",
        description="Run (or join) an Optuna study over the `search` section of models/MODEL/model.yaml: "
        "each trial trains on the train split and is scored on the validation split, as a nested MLflow run "
        "under the study's parent run. Prints the best values as a diff against model.yaml; --write puts "
        "them there (for a pull request). Processes naming the same --study and storage share one study. "
        "Docs: docs/tuning.md",
    )
    p.add_argument("model", help="model name (a folder under models/ whose model.yaml has `search`)")
    p.add_argument(
        "--trials",
        type=_not_negative,
        metavar="N",
        help="trials this invocation runs, split across --workers (default: search.n_trials); 0 creates "
        "the study and its MLflow parent run, or with --write/--json reports it, without training",
    )
    p.add_argument(
        "--workers",
        type=_positive,
        default=1,
        metavar="W",
        help="worker processes on this machine (default 1)",
    )
    p.add_argument(
        "--timeout",
        type=_positive,
        metavar="S",
        help="start no trial after S seconds (default: search.timeout_seconds)",
    )
    p.add_argument(
        "--env",
        metavar="ENV",
        help="environment from platform.yaml: its MLflow and study_storage (default: default_environment)",
    )
    p.add_argument(
        "--study",
        metavar="NAME",
        help="study name; processes with the same name and storage share the study "
        "(default: <model>-<hash of the space, objective and fixed training values>)",
    )
    p.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage URL (default: $AIP_STUDY_STORAGE, else platform.yaml's study_storage); "
        "a password missing from it comes from $AIP_STUDY_STORAGE_PASSWORD",
    )
    p.add_argument(
        "--write",
        action="store_true",
        help="write the best values into models/MODEL/model.yaml's training section (comments kept)",
    )
    p.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="write the result as JSON: best_params, best_value, diff, n_trials, parent_run_id, ...",
    )
    p.add_argument("--verbose", action="store_true", help="show each trial's per-epoch training output")
    p.set_defaults(handler="pipelines.cli.tune_commands:cmd_tune")


def cmd_tune(args: argparse.Namespace) -> int:
    from pipelines.repo.layout import Repo
    from pipelines.tune import TuneRequest, tune, write_training

    repo = Repo.discover()
    request = TuneRequest(
        model=args.model,
        env=args.env,
        n_trials=args.trials,
        workers=args.workers,
        timeout_s=args.timeout,
        study_name=args.study,
        storage=args.storage,
        verbose=args.verbose,
    )
    summary = tune(repo, request)
    for line in summary.lines():
        print(line)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary.to_json(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if summary.best_value is None:
        if summary.n_trials and args.trials != 0:
            print("error: no trial completed; see the trial lines above", file=sys.stderr)
            return EXIT_FAILED
        return 0
    path = repo.model_dir(args.model) / "model.yaml"
    changed = {c.name: c.best for c in summary.changes if c.changed}
    if not changed:
        print(f"models/{args.model}/model.yaml already holds the best values found: nothing to change")
    elif args.write:
        write_training(path, changed)
        target = f"models/{args.model}/model.yaml"
        print(f"wrote {len(changed)} training value(s) to {target}: open a pull request with it")
    else:
        print(
            f"apply: aip tune {args.model} --study {summary.study} --trials 0 --write "
            f"(rewrites models/{args.model}/model.yaml's training values), then open a pull request"
        )
    return 0
