"""`aip data refresh`, `aip ci data-pr`, `aip ci retrain-pr`: the continuous-training loop's commands.

Parsers are argparse only (so `aip --help` stays quick); handlers import the engine lazily.
docs/continuous-training.md describes the loop; .github/workflows/ingest.yml and drift.yml run it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.cli.errors import EXIT_FAILED, EXIT_USAGE

if TYPE_CHECKING:
    from pipelines.github import GitHub
    from pipelines.gitops.retrain import Proposal
    from pipelines.repo.layout import Repo

_H = "pipelines.cli.loop_commands:"


def add_refresh_parser(data_sub: Any) -> None:
    """`aip data refresh` on the subparsers of `aip data`."""
    p = data_sub.add_parser(
        "refresh",
        help="ingest again from the source; on new data validate, version and push it (dvc.lock changes)",
        description="Reads the dataset's source (ingest.py; a SQL table or HTTP API through "
        "pipelines/data/sources.py). Same data as dvc.lock records: 'up to date', exit 0. New data: "
        "Great Expectations, the DVC stages and a push to the environment's remote, leaving the updated "
        "dvc.lock; prints rows and hashes before/after. Failing expectations or an unreadable source: "
        "exit 1, dvc.lock untouched.",
    )
    p.add_argument("dataset", help="dataset name (a folder under datasets/)")
    p.add_argument(
        "--env",
        metavar="ENV",
        default=os.environ.get("AIP_ENV") or None,
        help="environment whose DVC remote receives the data (default $AIP_ENV, else platform.yaml's "
        "default_environment)",
    )
    p.add_argument("--no-push", action="store_true", help="do not push (the lock then names unpushed data)")
    p.set_defaults(handler=_H + "cmd_data_refresh")


def add_loop_ci_parsers(csub: Any) -> None:
    """`aip ci data-pr`, `aip ci retrain-pr` and `aip ci datasets` on the subparsers of `aip ci`."""
    p = csub.add_parser(
        "data-pr",
        help="propose the last `aip data refresh`'s dvc.lock: branch data/<dataset>-<hash>, PR into main",
        description="After `aip data refresh DATASET` found new data, commits the work tree's dvc.lock on "
        "branch data/<dataset>-<short hash> through the GitHub API and opens (or updates) a PR into "
        "--base listing the data change, the validation result and the models it retrains. Without "
        "GITHUB_TOKEN/GITHUB_REPOSITORY the body goes to stdout and the job summary, nothing is opened.",
    )
    p.add_argument("dataset", help="dataset name")
    p.add_argument("--base", default="main", help="branch the PR targets (default main)")
    p.set_defaults(handler=_H + "cmd_ci_data_pr")
    p = csub.add_parser(
        "datasets",
        help="the datasets scheduled ingestion refreshes, as a matrix, and the environment it pushes to",
        description="Step outputs for ingest.yml: matrix ({include: [{dataset}]}: every dataset but the "
        "documents ones, which are made from this repository's own files), any (true|false) and "
        "environment (the first of the promotion order that trains: its DVC remote receives new data).",
    )
    p.add_argument("--only", default="", metavar="DATASET", help="just this dataset (empty: all)")
    p.set_defaults(handler=_H + "cmd_ci_datasets")
    p = csub.add_parser(
        "retrain-pr",
        help="after drift: refresh the model's dataset, open a retraining PR (or an issue: no newer data)",
        description="Reads `aip drift` reports (report.json, or a folder of them). For each model whose "
        "report says drift (inputs, predictions or live quality below monitoring.drift."
        "min_live_accuracy): `aip data refresh` of its dataset into --data-env's remote; new data opens "
        "(or updates) the PR of branch data/<dataset>-<hash> (the scheduled ingestion's, when it "
        "found the same data) with the drift summary and the data change; no newer "
        "data opens (or updates) an issue labelled 'retraining' saying so. Bodies are also written to "
        "<state_dir>/reports/<env>/<model>/retrain.md.",
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="models to act on (default: every report's)")
    p.add_argument(
        "--drift-report",
        required=True,
        type=Path,
        metavar="PATH",
        help="`aip drift`'s report.json, or a folder searched for them (drift.yml's downloaded artifacts)",
    )
    p.add_argument(
        "--data-env",
        metavar="ENV",
        default=None,
        help="environment whose DVC remote receives new data (default: the first of the promotion order "
        "that trains, whose remote the deploy pipeline pulls from; `local` on a laptop)",
    )
    p.add_argument("--no-push", action="store_true", help="refresh without pushing (a dry run's data)")
    p.add_argument("--base", default="main", help="branch the PR targets (default main)")
    p.set_defaults(handler=_H + "cmd_ci_retrain_pr")


# -- handlers -----------------------------------------------------------------------------------------
def _repo() -> Repo:
    from pipelines.repo.layout import Repo

    return Repo.discover()


def _github() -> GitHub | None:
    from pipelines.github import GitHub

    return GitHub.from_env()


def cmd_data_refresh(args: argparse.Namespace) -> int:
    from pipelines.data.errors import DataValidationError
    from pipelines.data.refresh import refresh

    repo = _repo()
    if args.dataset not in repo.dataset_names():
        print(f"error: unknown dataset '{args.dataset}' (datasets/ has: {', '.join(repo.dataset_names())})",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    try:
        result = refresh(repo, args.dataset, args.env, push=not args.no_push)
    except DataValidationError as exc:
        print(exc.report.summary(), file=sys.stderr)
        print(f"{args.dataset}: new data failed validation; dvc.lock untouched", file=sys.stderr)
        return EXIT_FAILED
    for line in result.lines():
        print(line)
    return 0


def cmd_ci_data_pr(args: argparse.Namespace) -> int:
    from pipelines.gitops.actions import annotate, set_output, write_summary
    from pipelines.gitops.retrain import data_proposal, load_record, lock_differs_from_head

    repo = _repo()
    record = load_record(repo, args.dataset)
    if not record.changed or not lock_differs_from_head(repo, record.lock):
        print(f"{args.dataset}: up to date ({record.lock} as committed): no data PR")
        set_output("opened", "false")
        return 0
    proposal = data_proposal(repo, record, _github(), base=args.base)
    return _report(proposal, write_summary, annotate, set_output)


def cmd_ci_datasets(args: argparse.Namespace) -> int:
    import json

    from pipelines.gitops.actions import set_output
    from pipelines.gitops.retrain import data_environment

    repo = _repo()
    names = [d for d in repo.dataset_names() if repo.dataset(d).kind != "documents"]
    if args.only:
        if args.only not in repo.dataset_names():
            print(f"error: unknown dataset '{args.only}' (datasets/ has: {', '.join(repo.dataset_names())})",
                  file=sys.stderr)  # fmt: skip
            return EXIT_USAGE
        names = [args.only]
    include = [{"dataset": d} for d in names] or [{"dataset": "none"}]
    set_output("matrix", json.dumps({"include": include}))
    set_output("any", str(bool(names)).lower())
    set_output("environment", data_environment(repo))
    return 0


def cmd_ci_retrain_pr(args: argparse.Namespace) -> int:
    from pipelines.data.errors import DataValidationError
    from pipelines.data.refresh import RefreshResult, refresh
    from pipelines.gitops.actions import annotate, set_output, write_summary
    from pipelines.gitops.retrain import data_environment, read_drift_reports, retrain_proposal

    repo = _repo()
    reports = read_drift_reports(args.drift_report)
    if not reports:  # the drift job failed before writing a report: its own log says why
        print(f"no drift report under {args.drift_report}: nothing to retrain")
        return 0
    unknown = [m for m in args.models if m not in repo.model_names()]
    if unknown:
        print(f"error: unknown model(s) {unknown} (models/ has: {', '.join(repo.model_names())})",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    wanted = [r for r in reports if not args.models or r["model"] in args.models]
    missing = sorted(set(args.models) - {r["model"] for r in wanted})
    for model in missing:
        print(f"{model}: no drift report under {args.drift_report}: nothing to do")
    data_env = args.data_env or data_environment(repo)
    refreshed: dict[str, RefreshResult] = {}
    status = 0
    for report in wanted:
        model = report["model"]
        if report["status"] != "drift":
            print(f"{model}: drift report says {report['status'].replace('_', ' ')}: nothing to retrain")
            continue
        if model not in repo.model_names():
            print(f"error: {report['_path']}: unknown model '{model}'", file=sys.stderr)
            status = EXIT_USAGE
            continue
        dataset = repo.model(model).dataset
        print(f"{model}: drift in {report.get('env', '?')}; refreshing {dataset} into {data_env}'s remote")
        if dataset not in refreshed:
            try:
                refreshed[dataset] = refresh(repo, dataset, data_env, push=not args.no_push)
            except DataValidationError as exc:
                print(exc.report.summary(), file=sys.stderr)
                annotate("error", f"{model}: drift found, but the new {dataset} data fails validation")
                status = EXIT_FAILED
                continue
        record = refreshed[dataset]
        for line in record.lines():
            print(line)
        proposal = retrain_proposal(repo, report, record, _github(), base=args.base)
        out = repo.state_dir / "reports" / str(report.get("env", "local")) / model / "retrain.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(f"# {proposal.title}\n\n{proposal.body}\n", encoding="utf-8")
        print(f"body: {out}")
        status = max(status, _report(proposal, write_summary, annotate, set_output))
    return status


def _report(proposal: Proposal, write_summary: Any, annotate: Any, set_output: Any) -> int:
    if not proposal.opened:
        write_summary(f"## {proposal.title}\n\n{proposal.body}")
        annotate("notice", proposal.describe())
    else:
        write_summary(f"{proposal.describe()}")
    print(proposal.describe())
    set_output("opened", "true" if proposal.opened else "false")
    return 0
