"""`aip catalog build`: the Backstage entities (catalog-info.yaml, catalog/) and the HTML catalogue page.

The parser is argparse only (`aip --help` stays quick); the handler imports pipelines.catalog.
docs/catalog.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipelines.cli.errors import EXIT_FAILED, EXIT_USAGE

_H = "pipelines.cli.catalog_commands:"


def add_parser(sub: Any) -> None:
    """Register `catalog` on the top-level subparsers of `aip`."""
    catalog = sub.add_parser("catalog", help="the service catalogue: Backstage entities and an HTML page")
    csub = catalog.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)
    p = csub.add_parser(
        "build",
        help="write catalog-info.yaml + catalog/*.yaml (Backstage) and <state_dir>/catalog/index.html",
        description="Writes the Backstage entities of every model, prompt, API, dataset, index, dashboard, "
        "infrastructure root, system and owner to catalog-info.yaml and catalog/*.yaml (committed, "
        "deterministic), then the HTML catalogue page with the version each environment's registry holds "
        "(environments whose registry is unreachable from here say so). With --check: only compare the "
        "committed files and exit 1 naming the stale ones.",
    )
    p.add_argument("--check", action="store_true", help="fail if the committed catalogue files are stale")
    page = p.add_mutually_exclusive_group()
    page.add_argument(
        "--html",
        metavar="DIR",
        type=Path,
        help="write the page to DIR/index.html (default <state_dir>/catalog; --check: only with --html)",
    )
    page.add_argument(
        "--no-html",
        action="store_true",
        help="write only the committed files, no page (`make generated`, `aip init`: no registry is read)",
    )
    p.add_argument(
        "--env",
        nargs="+",
        metavar="ENV",
        help="environments whose registries the page reads (default: every environment of platform.yaml)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=3.0,
        metavar="S",
        help="seconds to wait for an environment's MLflow server before calling it not reachable (3)",
    )
    p.set_defaults(handler=_H + "cmd_catalog_build")


def cmd_catalog_build(args: argparse.Namespace) -> int:
    from pipelines.catalog import (
        CatalogError,
        catalog_files,
        registry_versions,
        render_page,
        stale_files,
        write_files,
    )
    from pipelines.repo.layout import Repo, UnknownEnvironment

    if args.timeout <= 0:
        print("error: --timeout must be > 0", file=sys.stderr)
        return EXIT_USAGE
    repo = Repo.discover()
    envs = list(args.env or repo.platform.environments)
    try:
        for env in envs:
            repo.environment(env)
    except UnknownEnvironment as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print("==> describing models, prompts, data, dashboards and infrastructure", file=sys.stderr, flush=True)
    try:
        catalog = catalog_files(repo)
    except CatalogError as exc:  # a model's or prompt's owner, a name Backstage refuses: configuration
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.check:
        stale = stale_files(repo, catalog)
        if stale:
            print(
                f"error: stale catalogue files: {', '.join(stale)}; run `aip catalog build`", file=sys.stderr
            )
            return EXIT_FAILED
        print(f"ok: {len(catalog.files)} catalogue files ({len(catalog.entities)} entities) are up to date")
        if args.html is None:
            return 0
    else:
        for path in write_files(repo, catalog):
            print(f"{'wrote' if path.exists() else 'removed'} {path.relative_to(repo.root)}")
        print(f"ok: {len(catalog.entities)} entities in {len(catalog.files)} files")
        if args.no_html:
            return 0
    out_dir = (args.html or repo.state_dir / "catalog").resolve()
    print(f"==> reading versions from the registries of {', '.join(envs)}", file=sys.stderr, flush=True)
    versions = registry_versions(repo, envs, timeout=args.timeout)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "index.html"
    page.write_text(render_page(repo, catalog.entities, versions, out_dir), encoding="utf-8")
    unreachable = sorted({v.env for rows in versions.values() for v in rows if v.status == "not reachable"})
    if unreachable:
        print(f"note: not reachable from here: {', '.join(unreachable)}", file=sys.stderr)
    print(f"wrote {page}")
    return 0
