"""`aip ci tune-plan`, `aip ci tune-pr` (tune.yml, around `aip tune`) and `aip ci features-plan`
(features.yml, around `aip features materialize`): the augmentation workflows' helpers.

Parsers are argparse only (so `aip --help` stays quick); handlers import the engine lazily.
pipelines/gitops/tune_pr.py says what each does; docs/tuning-infra.md describes the workflow.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipelines.cli.errors import EXIT_USAGE

_H = "pipelines.cli.tune_ci_commands:"


def add_tune_ci_parsers(csub: Any) -> None:
    """`aip ci tune-plan`, `aip ci tune-pr` and `aip ci features-plan` on the subparsers of `aip ci`."""
    p = csub.add_parser(
        "tune-plan",
        help="step outputs for tune.yml: a matrix of N tuning workers and the one study they share",
        description="Checks the model exists and 1 <= --workers <= 16, then sets the step outputs matrix "
        '({"worker": [1..N]}), study (--study, else <model>-<GITHUB_RUN_ID>-<GITHUB_RUN_ATTEMPT>, or '
        "<model>-local-<UTC time> off Actions) and workers.",
    )
    p.add_argument("model", help="model name (a folder under models/)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="parallel workers (default 2)")
    p.add_argument("--study", default=None, help="study name (default: one per workflow run)")
    p.set_defaults(handler=_H + "cmd_ci_tune_plan")
    p = csub.add_parser(
        "tune-pr",
        help="propose the work tree's models/<model>/model.yaml (after `aip tune --write`) as a PR",
        description="After `aip tune MODEL --study S --write` rewrote models/<model>/model.yaml with the "
        "study's best parameters, commits that file on branch tune/<model>-<study> through the GitHub "
        "API and opens (or updates) a PR into --base labelled 'tuning', with the diff and the "
        "`aip tune --json` summary. Unchanged model.yaml: says so, opens nothing, exit 0. Without "
        "GITHUB_TOKEN/GITHUB_REPOSITORY the body goes to stdout and the job summary, nothing is opened.",
    )
    p.add_argument("model", help="model name (a folder under models/)")
    p.add_argument("--study", required=True, help="the study whose best trial was written")
    p.add_argument("--env", default="dev", help="environment whose study storage holds it (default dev)")
    p.add_argument("--summary", type=Path, default=None, metavar="PATH", help="`aip tune --json` output")
    p.add_argument("--base", default="main", help="branch the PR targets (default main)")
    p.set_defaults(handler=_H + "cmd_ci_tune_pr")
    p = csub.add_parser(
        "features-plan",
        help="step outputs for features.yml: (environment, dataset) pairs to materialise, with runs-on",
        description="Sets matrix ({include: [{environment, dataset, runner}]}: every environment of the "
        "promotion order, or --env, times every dataset with a `features` section; runner is the "
        "environment's runs-on as JSON) and any (true|false).",
    )
    p.add_argument("--env", default="", metavar="ENV", help="one environment (empty: every one)")
    p.set_defaults(handler=_H + "cmd_ci_features_plan")


def cmd_ci_tune_plan(args: argparse.Namespace) -> int:
    from pipelines.gitops.actions import set_output
    from pipelines.gitops.tune_pr import TuneCiError, tune_plan
    from pipelines.repo.layout import Repo

    try:
        plan = tune_plan(Repo.discover(), args.model, args.workers, args.study)
    except TuneCiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for key, value in plan.items():
        set_output(key, str(value))
    print(f"{args.model}: {plan['workers']} worker(s) of study {plan['study']}")
    return 0


def cmd_ci_tune_pr(args: argparse.Namespace) -> int:
    from pipelines.github import GitHub
    from pipelines.gitops.actions import annotate, set_output, write_summary
    from pipelines.gitops.tune_pr import TuneCiError, tune_proposal
    from pipelines.repo.layout import Repo

    try:
        proposal = tune_proposal(
            Repo.discover(),
            args.model,
            args.study,
            GitHub.from_env(),
            env=args.env,
            base=args.base,
            summary=args.summary,
        )
    except TuneCiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if proposal is None:
        message = f"{args.model}: study {args.study}'s best parameters are already in model.yaml: no PR"
        print(message)
        write_summary(message)
        set_output("opened", "false")
        return 0
    if proposal.opened:
        write_summary(proposal.describe())
    else:
        write_summary(f"## {proposal.title}\n\n{proposal.body}")
        annotate("notice", proposal.describe())
    print(proposal.describe())
    set_output("opened", "true" if proposal.opened else "false")
    return 0


def cmd_ci_features_plan(args: argparse.Namespace) -> int:
    import json

    from pipelines.gitops.actions import set_output
    from pipelines.gitops.features_plan import FeaturesPlanError, features_plan
    from pipelines.repo.layout import Repo

    try:
        plan = features_plan(Repo.discover(), args.env or None)
    except FeaturesPlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for key, value in plan.items():
        set_output(key, value)
    pairs = [f"{i['dataset']}@{i['environment']}" for i in json.loads(plan["matrix"])["include"]]
    print(
        f"materialise: {', '.join(pairs) if plan['any'] == 'true' else 'nothing (no dataset has features)'}"
    )
    return 0
