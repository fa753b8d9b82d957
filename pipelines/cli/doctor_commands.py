"""`aip doctor`: check a fork's GitHub settings, `--apply` creates what can be created (parsing and
printing only; the work is pipelines/fork/doctor.py, docs/github-settings.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from pipelines.cli.errors import EXIT_FAILED, EXIT_USAGE

_TOKEN_HELP = (
    "a token that can read the repository's administration, environments, variables and secrets "
    "(fine-grained: Administration, Environments, Secrets, Variables: read; write for --apply)"
)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `aip doctor` on the top-level subparsers (called from pipelines/cli/main.py)."""
    p = sub.add_parser(
        "doctor",
        help="check the fork's GitHub settings (environments, variables, secrets, rulesets, branches)",
        description="Compares the repository's GitHub settings with what platform.yaml and the workflows "
        "need (GitHub environments with their deployment branches and reviewers, variables and secret "
        "names, rulesets from .github/rulesets/, Actions permissions, env/* branches, runner groups) and "
        "prints each check with what to do. Exit 0 when every required setting is there, 1 when one is "
        "missing or wrong, 2 on bad usage (no token). Docs: docs/github-settings.md",
    )
    p.add_argument(
        "--repo",
        metavar="OWNER/NAME",
        help="repository to check (default: platform.yaml's organisation.repository)",
    )
    p.add_argument(
        "--apply",
        action="store_true",
        help="create what can be created (environments, branch policies, rulesets, Actions permissions, "
        "env branches), then check again; never sets a secret (it lists them)",
    )
    p.add_argument("--json", action="store_true", help="print the checks as JSON instead of the table")
    p.add_argument(
        "--token-env",
        default="GITHUB_TOKEN",
        metavar="VAR",
        help="environment variable holding the GitHub token (default GITHUB_TOKEN); the API is "
        "$GITHUB_API_URL or https://api.github.com",
    )
    p.set_defaults(handler="pipelines.cli.doctor_commands:cmd_doctor")


def cmd_doctor(args: argparse.Namespace) -> int:
    from pipelines.fork.doctor import TokenRejected, apply, diagnose, render_report
    from pipelines.fork.settings import fork_settings
    from pipelines.github import GitHub
    from pipelines.http import Unreachable
    from pipelines.repo.layout import Repo

    token = os.environ.get(args.token_env, "")
    if not token:
        print(
            f"error: no GitHub token: set {args.token_env} to {_TOKEN_HELP}, or name another variable "
            "with --token-env",
            file=sys.stderr,
        )
        return EXIT_USAGE
    repo = Repo.discover()
    slug = args.repo or repo.platform.organisation.repository
    try:
        gh = GitHub(slug, token)
    except ValueError as exc:
        print(f"error: --repo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings = fork_settings(repo.platform, repo.root)
    try:
        report = diagnose(gh, settings)
        if args.apply and report.fixes():
            if not args.json:
                print(f"aip doctor --apply: {len(report.fixes())} requests to {gh.api_url}", flush=True)
            applied = apply(gh, report)
            report = diagnose(gh, settings)
            report.applied = applied
    except TokenRejected as exc:
        print(f"error: {exc} ({args.token_env}; {_TOKEN_HELP})", file=sys.stderr)
        return EXIT_USAGE
    except Unreachable as exc:
        print(
            f"error: the GitHub API at {gh.api_url} did not answer ({exc}); nothing was checked. "
            "GitHub Enterprise: set GITHUB_API_URL",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(render_report(report), end="")
    return 0 if report.ok else EXIT_FAILED
