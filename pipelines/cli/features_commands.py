"""`aip features`: the Feast feature store of tabular datasets (parsing and printing only; the work is
pipelines/features, docs/features.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.cli.errors import EXIT_FAILED

if TYPE_CHECKING:
    from pipelines.repo.layout import Repo


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `aip features ...` on the top-level subparsers (called from pipelines/cli/main.py)."""
    features = sub.add_parser(
        "features",
        help="the Feast feature store: export the offline source, apply definitions, materialise",
        description="A tabular dataset with a `features` section in dataset.yaml keeps a Feast feature "
        "repo (datasets/<name>/features/). `export` writes its offline source (the DVC `features` stage), "
        "`apply` registers its definitions in an environment, `materialize` fills that environment's "
        "online store, which `aip serve` reads by entity key. Docs: docs/features.md",
    )
    fsub = features.add_subparsers(dest="features_command", metavar="COMMAND", required=True)

    text = "write the offline source (parquet) from data/raw.csv: the DVC `features` stage"
    p = fsub.add_parser("export", help=text, description=text)
    p.add_argument("dataset", help="dataset name (a folder under datasets/ with a `features` section)")
    p.set_defaults(handler="pipelines.cli.features_commands:cmd_features_export")

    text = (
        "generate the environment's feature_store.yaml from platform.yaml (online_store) and register "
        "the feature repo's definitions in its registry (idempotent)"
    )
    p = fsub.add_parser("apply", help="register the definitions in an environment", description=text)
    _datasets_and_env(p)
    p.set_defaults(handler="pipelines.cli.features_commands:cmd_features_apply")

    text = (
        "apply, then copy the feature views' values from the offline source into the environment's "
        "online store, up to now or --end (incremental after the first run)"
    )
    p = fsub.add_parser("materialize", help="fill the online store (incremental)", description=text)
    _datasets_and_env(p)
    p.add_argument(
        "--end",
        metavar="TIME",
        help="materialise event times before this ISO 8601 time (default: now), e.g. 2026-01-31T00:00:00Z",
    )
    p.set_defaults(handler="pipelines.cli.features_commands:cmd_features_materialize")


def _datasets_and_env(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "datasets", nargs="*", metavar="DATASET", help="datasets to act on (default: every one with features)"
    )
    parser.add_argument(
        "--env", metavar="ENV", help="environment from platform.yaml (default: its default_environment)"
    )


def _progress(message: str) -> None:
    print(message, flush=True)


def display(repo: Repo, path: Path) -> str:
    """`path` relative to the repo root when inside it (short, the same on every machine)."""
    return str(path.relative_to(repo.root)) if path.is_relative_to(repo.root) else str(path)


def _datasets(repo: Repo, named: list[str]) -> list[str]:
    from pipelines.features import FeatureStoreError, feature_datasets

    have = feature_datasets(repo)
    unknown = [d for d in named if d not in have]
    if unknown:
        raise FeatureStoreError(
            f"no feature store for dataset(s) {', '.join(unknown)}; datasets with `features`: "
            f"{', '.join(have) or 'none'}"
        )
    return named or have


def cmd_features_export(args: argparse.Namespace) -> int:
    from pipelines.features import export_source
    from pipelines.repo.layout import Repo

    repo = Repo.discover()
    path = export_source(repo, args.dataset)
    _progress(f"features: {args.dataset}: offline source {display(repo, path)}")
    return 0


def cmd_features_apply(args: argparse.Namespace) -> int:
    from pipelines.features import open_store
    from pipelines.repo.layout import Repo

    repo = Repo.discover()
    for dataset in _datasets(repo, args.datasets):
        _progress(f"features: {dataset}: applying its feature repo's definitions ...")
        opened = open_store(repo, dataset, args.env)
        views = [v.name for v in opened.store.list_feature_views()]
        _progress(
            f"features: {dataset}: {display(repo, opened.feature_repo.file)} registered in '{opened.env}' "
            f"({display(repo, opened.folder / 'registry.db')}): views {', '.join(views)}, "
            f"service {opened.feature_repo.service.name}; online store {opened.online}"
        )
    return 0


def cmd_features_materialize(args: argparse.Namespace) -> int:
    from pipelines.features import materialize, parse_end
    from pipelines.repo.layout import Repo

    repo = Repo.discover()
    end = parse_end(args.end) if args.end else None
    failed = []
    for dataset in _datasets(repo, args.datasets):
        try:
            materialize(repo, dataset, args.env, end, progress=_progress)
        except Exception as exc:
            from pipelines.errors import is_expected

            if not is_expected(exc):
                raise
            failed.append(dataset)
            print(f"error: {exc}", file=sys.stderr)
    return EXIT_FAILED if failed else 0
