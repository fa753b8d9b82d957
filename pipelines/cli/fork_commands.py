"""`aip init` and `aip render`: parsers (argparse only, so `aip --help` stays quick) and handlers.

docs/forking.md describes what `aip init` asks, what it writes and which files `aip render` derives.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from pipelines.cli.errors import EXIT_FAILED, EXIT_USAGE

if TYPE_CHECKING:
    from pipelines.fork.init import Question

_H = "pipelines.cli.fork_commands:"

# flag -> help; the values and their forms are pipelines.fork.init.QUESTIONS (kept in step by a test)
_INIT_FLAGS = {
    "org": "organisation slug, e.g. acme-ml (prefixes cloud resources)",
    "repo": "GitHub owner/name of the fork, e.g. acme-ml/ml-platform",
    "region": "cloud region, e.g. eu-west-1",
    "account-id": "12-digit cloud account id",
    "domain": "base DNS name: mlflow.<domain>, models.<env>.<domain>",
    "image-registry": "container registry prefix, e.g. ghcr.io/acme-ml",
    "upstream": "GitHub owner/name of the template this fork updates from",
    "team-platform": "GitHub team slug of the platform team",
    "team-ml": "GitHub team slug of the ML engineers",
    "team-data": "GitHub team slug of the data engineers",
    "team-sre": "GitHub team slug of the SREs",
}


def add_fork_parsers(sub: Any) -> None:
    """Register `init` and `render` on the top-level subparsers of `aip`."""
    p = sub.add_parser(
        "init",
        help="make the template yours: fill platform.yaml's organisation, render the derived files",
        description="Writes the organisation's values into platform.yaml (comments kept), derives the "
        "environments' service URIs that still follow the template's naming, removes the TODO(fork) "
        "markers it answered, renders every derived file (`aip render`) and prints the GitHub settings "
        "to create. Missing values are asked for on a terminal; otherwise name them as flags (or --yes "
        "for the defaults). Every value is checked before anything is written; re-running with the same "
        "values changes nothing. docs/forking.md",
    )
    for flag, text in _INIT_FLAGS.items():
        p.add_argument(f"--{flag}", metavar="VALUE", help=text)
    p.add_argument(
        "--yes", action="store_true", help="take the defaults for values not given, without asking"
    )
    p.set_defaults(handler=_H + "cmd_init")

    p = sub.add_parser(
        "render",
        help="write the files derived from platform.yaml (CODEOWNERS, backends, manifests, rules)",
        description="Derived files cannot read platform.yaml at run time; this writes the organisation's "
        "values into them. --check fails, naming each stale file, when one differs (docs/forking.md).",
    )
    p.add_argument("--check", action="store_true", help="fail if a derived file is stale; write nothing")
    p.set_defaults(handler=_H + "cmd_render")


def _ask(question: Question, default: str | None) -> str:
    shown = f" [{default}]" if default else ""
    return input(f"{question.prompt} (--{question.flag}){shown}: ")


def cmd_init(args: argparse.Namespace) -> int:
    from pipelines.fork.init import InitError, run
    from pipelines.repo.layout import find_root

    root = find_root()
    given = {flag: getattr(args, flag.replace("-", "_")) for flag in _INIT_FLAGS}
    interactive = sys.stdin.isatty() and not args.yes
    try:
        changed = run(root, given, assume_yes=args.yes, ask=_ask if interactive else None)
    except InitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    changed += _refresh_catalogue()
    print(f"ok: {len(changed)} file(s) changed" if changed else "ok: already initialised, nothing changed")
    return _print_settings(root)


def _refresh_catalogue() -> list[str]:
    """Rewrite the committed Backstage catalogue (`aip catalog build`'s files): it names the organisation
    and its teams too. The cli layer calls it, because pipelines.fork and pipelines.catalog are siblings."""
    try:
        from pipelines.catalog import catalog_files, write_files
    except ImportError:  # a tree without the catalogue
        return []
    from pipelines.repo.layout import Repo

    repo = Repo.discover()
    written = [str(p.relative_to(repo.root)) for p in write_files(repo, catalog_files(repo))]
    for rel in written:
        print(f"wrote {rel}")
    return written


def _print_settings(root: Any) -> int:
    """Print the GitHub settings the fork must create; 1 when they cannot be listed (files stay written)."""
    from pipelines.config import load_platform
    from pipelines.errors import AipError

    try:
        from pipelines.fork.settings import render_settings
    except ImportError:  # a tree without pipelines.fork.settings: docs/gitops.md lists them
        print("\nNext: create the GitHub settings listed in docs/gitops.md ('What a fork must set').")
        return 0
    try:
        text = render_settings(load_platform(root / "platform.yaml"), root)
    except AipError as exc:
        print(
            f"error: platform.yaml and the derived files are written, but the GitHub settings cannot be "
            f"listed: {exc}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print("\nGitHub settings to create (docs/gitops.md):")
    print(text)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from pipelines.config import load_platform
    from pipelines.fork import render
    from pipelines.repo.layout import find_root

    root = find_root()
    platform = load_platform(root / "platform.yaml")
    if args.check:
        stale = render.stale(root, platform)
        if stale:
            print(f"stale (differ from platform.yaml): {', '.join(stale)}; run `aip render`", file=sys.stderr)
            return EXIT_FAILED
        print("ok: every file derived from platform.yaml is current")
        return 0
    written = render.render(root, platform)
    print(f"ok: {len(written)} file(s) written" if written else "ok: every derived file was already current")
    return 0
