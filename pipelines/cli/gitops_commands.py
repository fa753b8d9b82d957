"""`aip guard ...` and `aip ci ...`: parsers (argparse only, so `aip --help` stays quick) and handlers.

Handlers import pipelines.gitops lazily. docs/gitops.md describes when each workflow calls which.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.cli.errors import EXIT_FAILED

if TYPE_CHECKING:
    from pipelines.repo.layout import Repo

_H = "pipelines.cli.gitops_commands:"


def add_gitops_parsers(sub: Any) -> Any:
    """Register `guard` and `ci` on the top-level subparsers of `aip`; returns the subparsers of `ci`
    (other command modules add their workflow helpers to it)."""
    guard = sub.add_parser("guard", help="GitOps rules: environment-branch promotion, workflow house rules")
    gsub = guard.add_subparsers(dest="guard_command", metavar="CHECK", required=True)
    p = gsub.add_parser(
        "pr",
        help="a PR into env/<E> must come from the previous environment's branch (main: label hotfix)",
        description="Refuses a pull request into an environment branch that skips the promotion order "
        "(platform.yaml: main → dev → staging → prod) or comes from a fork; main into a later environment "
        "and hotfix/<E>-* branches need the label 'hotfix' (ADR 0022). With --head-sha also checks that "
        "the incoming commits are all on main or patch-equivalent to commits of main (`aip guard branch`).",
    )
    p.add_argument(
        "--base", default=os.environ.get("GITHUB_BASE_REF"), help="target branch (GITHUB_BASE_REF)"
    )
    p.add_argument(
        "--head", default=os.environ.get("GITHUB_HEAD_REF"), help="source branch (GITHUB_HEAD_REF)"
    )
    p.add_argument("--head-repo", default=None, help="owner/name the source branch lives in (forks differ)")
    p.add_argument("--repo", default=os.environ.get("GITHUB_REPOSITORY"), help="this repository, owner/name")
    p.add_argument("--head-sha", default=None, help="the PR's head commit: also run the branch check on it")
    p.add_argument("--main", default="origin/main", help="ref of main for the branch check (origin/main)")
    p.add_argument(
        "--labels",
        default=os.environ.get("AIP_PR_LABELS", ""),
        metavar="A,B",
        help="the PR's labels, comma-separated ($AIP_PR_LABELS); 'hotfix' allows main into a later "
        "environment and hotfix/<E>-* branches (ADR 0022)",
    )
    p.add_argument(
        "--pr",
        default="",
        metavar="N",
        help="the PR's number: its current labels are read from the API too (GITHUB_TOKEN, "
        "GITHUB_REPOSITORY), so a label added after the PR opened counts when the guard is re-run",
    )
    p.set_defaults(handler=_H + "cmd_guard_pr")
    p = gsub.add_parser(
        "branch",
        help="an environment branch holds no commit that main lacks",
        description="Fails if BRANCH has a non-merge commit that main lacks, or if its files differ from "
        "every commit of main.",
    )
    p.add_argument("branch", help="branch, ref or commit to check (e.g. origin/env/staging, HEAD)")
    p.add_argument("--main", default="origin/main", help="ref of main (default origin/main)")
    p.set_defaults(handler=_H + "cmd_guard_branch")
    p = gsub.add_parser("workflows", help="house rules for .github/workflows that actionlint/zizmor lack")
    p.add_argument("files", nargs="*", type=Path, help="workflow files (default .github/workflows/*.y*ml)")
    p.set_defaults(handler=_H + "cmd_guard_workflows")

    ci = sub.add_parser("ci", help="helpers that workflow steps call (each works on a laptop too)")
    csub = ci.add_subparsers(dest="ci_command", metavar="HELPER", required=True)
    p = csub.add_parser(
        "plan",
        help="affected models/infra/workflows and the env's runner, as step outputs",
        description="Step outputs for later jobs (pipelines/gitops/plan.py). Without --env (pull "
        "requests): the models the diff affects. With --env (deploys): every model, level-based (each "
        "deploy job is a no-op when the alias already holds the commit's fingerprint), and the "
        "environment's name, runner (ARC scale-set name or labels), train and requires_approval.",
    )
    p.add_argument("--base", default=None, help="ref to diff against; omitted or all zeros: everything")
    p.add_argument("--head", default=None, help="ref to compare (default: the work tree)")
    p.add_argument(
        "--env",
        default=None,
        help="deploy plan for this environment (or its branch env/<name>): every model, and its "
        "name, runner, train, requires_approval and next_environment",
    )
    p.set_defaults(handler=_H + "cmd_ci_plan")
    p = csub.add_parser("smoke", help="smoke train + evaluate on a small sample (CPU), never registered")
    p.add_argument("models", nargs="+", metavar="MODEL")
    p.add_argument("--env", default=None, help="environment whose stores are used (default: local)")
    p.add_argument(
        "--champion-env",
        default=os.environ.get("AIP_CHAMPION_ENV") or None,
        help="compare with the model at this alias (default $AIP_CHAMPION_ENV, else --env)",
    )
    p.add_argument("--max-train-samples", type=int, default=400, help="row cap for training (400)")
    p.add_argument("--epochs", type=int, default=1, help="epoch cap for text models (1)")
    p.add_argument("--summary-json", type=Path, default=None, help="write the summary (aip run's shape)")
    p.set_defaults(handler=_H + "cmd_ci_smoke")
    p = csub.add_parser("comment", help="render the metrics comment; --post puts it on the PR")
    p.add_argument("folder", type=Path, help="folder of summary JSON files (aip run/aip ci smoke)")
    p.add_argument("--reports", type=Path, default=Path(".aip/reports"), help="evaluation reports root")
    p.add_argument("--post", action="store_true", help="create or update the PR comment (GITHUB_TOKEN)")
    p.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    p.set_defaults(handler=_H + "cmd_ci_comment")
    p = csub.add_parser("summary", help="append reports (report.md, deploy *.json) to the job summary")
    p.add_argument("folders", nargs="+", type=Path, help="report folders, e.g. .aip/reports/dev/MODEL")
    p.set_defaults(handler=_H + "cmd_ci_summary")
    p = csub.add_parser(
        "deployed",
        help="output deployed=true only if every model's deploy report is promoted or up to date",
        description="Reads the JSON reports of `aip deploy --report-json` (files, or folders searched for "
        "deploy.json) and sets the step output deployed=true only when every model has a report for "
        "ENV whose verdict is promoted, promoted_directly or up_to_date (nothing to deploy) with the "
        "alias on that version, or held (a pin in model.yaml). No report at all (deploy skipped: "
        "runners or cloud role not configured) gives a notice and deployed=false; promote.yml runs only "
        "on deployed=true. Always exits 0.",
    )
    p.add_argument("reports", nargs="+", type=Path, metavar="REPORT", help="deploy.json files or folders")
    p.add_argument("--env", required=True, help="the environment deployed to (or its branch env/<name>)")
    p.add_argument(
        "--models",
        default=None,
        metavar="A,B",
        help="models that must have been deployed (default: every model, as `aip ci plan --env` plans)",
    )
    p.set_defaults(handler=_H + "cmd_ci_deployed")
    p = csub.add_parser("needs-ok", help="the one required check: fail if a needed job failed ($NEEDS)")
    p.set_defaults(handler=_H + "cmd_ci_needs_ok")
    p = csub.add_parser("require", help="output configured=true|false for secrets/vars; notice if missing")
    p.add_argument("names", nargs="+", metavar="VAR", help="environment variables that must be non-empty")
    p.add_argument("--for", dest="purpose", required=True, help="what needs them (shown in the notice)")
    p.set_defaults(handler=_H + "cmd_ci_require")
    p = csub.add_parser("promote", help="open or update the PR env/<from> → env/<to>")
    p.add_argument("--from", dest="source", required=True, metavar="ENV")
    p.add_argument("--to", dest="target", default=None, metavar="ENV", help="default: the next environment")
    p.add_argument("--dry-run", action="store_true", help="print the PR body, open nothing")
    p.set_defaults(handler=_H + "cmd_ci_promote")
    p = csub.add_parser(
        "hotfix",
        help="cherry-pick commits of main onto env/<E> as a hotfix PR (label hotfix)",
        description="Makes hotfix/<E>-<short sha> from env/<E>'s tip, cherry-picks the given commits of "
        "main onto it (-x; a merge commit stands for its PR's commits), checks it with the guard, pushes "
        "it and opens a PR into env/<E> labelled 'hotfix' (GITHUB_TOKEN + GITHUB_REPOSITORY). Nothing "
        "is pushed on a conflict. Exit 1 when refused. Docs: docs/gitops.md, ADR 0022.",
    )
    p.add_argument("commits", nargs="+", metavar="COMMIT", help="commits of main (shas, refs)")
    p.add_argument("--env", required=True, help="the environment to fix (platform.yaml; env/<E> works)")
    p.add_argument("--remote", default="origin", help="remote to fetch and push (default origin)")
    p.add_argument("--no-push", action="store_true", help="only make the branch locally")
    p.set_defaults(handler=_H + "cmd_ci_hotfix")
    p = csub.add_parser("terraform", help="terraform fmt|validate|plan|apply in one root (infra.yml)")
    p.add_argument("action", choices=["fmt", "validate", "plan", "apply"])
    p.add_argument("--root", required=True, help="Terraform root, e.g. infra/envs/dev")
    p.add_argument("--comment", action="store_true", help="plan: also post it as a PR comment")
    p.add_argument(
        "--tunnel",
        action="store_true",
        help="plan/apply: reach the private cluster API through the root's SSM tunnel host (aws CLI + "
        "Session Manager plugin); a root without one yet is applied AWS-only first",
    )
    p.add_argument("--tunnel-port", type=int, default=8443, help="local port of the tunnel (default 8443)")
    p.add_argument(
        "--plan",
        metavar="FILE",
        help="apply: apply this saved plan (relative to the root, e.g. tfplan) exactly as reviewed",
    )
    p.set_defaults(handler=_H + "cmd_ci_terraform")
    p = csub.add_parser("grafana-publish", help="upload rendered dashboards (GRAFANA_URL, GRAFANA_TOKEN)")
    p.add_argument(
        "folder",
        nargs="?",
        type=Path,
        default=Path("dashboards/rendered"),
        help="rendered dashboards (default dashboards/rendered, written by `aip dashboards build`)",
    )
    p.set_defaults(handler=_H + "cmd_ci_grafana_publish")
    p = csub.add_parser("check-commands", help="every run: step of the workflows names things that exist")
    p.add_argument("files", nargs="*", type=Path, help="workflow files (default .github/workflows/*.y*ml)")
    p.set_defaults(handler="pipelines.cli.usage:cmd_ci_check_commands")
    return csub


def add_rollback_parser(sub: Any) -> None:
    """Register the top-level `aip rollback` (pipelines/gitops/rollback.py)."""
    p = sub.add_parser(
        "rollback",
        help="roll a model back in an environment through git: a version pin in model.yaml",
        description="Pins MODEL to the version @ENV held before (or --to N) in models/<MODEL>/model.yaml "
        "(environments.<ENV>.version; comments kept). An environment with a branch: commits the pin on "
        "rollback/<model>-<ENV>-v<N> from main, pushes it and opens a PR into main (GITHUB_TOKEN), then "
        "says how it reaches ENV (`aip ci hotfix`, or the next promotion); without a remote the branch "
        "stays local. An environment without a branch (local): writes the pin in the working tree and "
        "runs the deploy. Never moves the alias by hand. "
        "Docs: docs/gitops.md, ADR 0022.",
    )
    p.add_argument("model", help="model name (a folder under models/)")
    p.add_argument("--env", required=True, help="environment from platform.yaml")
    p.add_argument("--to", type=int, default=None, metavar="N", help="version to pin (default: the previous)")
    p.add_argument("--reason", default=None, help="why (model.yaml `reason`, commit message, PR)")
    p.add_argument("--remote", default="origin", help="remote to fetch main from and push to (origin)")
    p.add_argument("--no-push", action="store_true", help="commit the branch locally, push nothing")
    p.add_argument("--no-deploy", action="store_true", help="local: write the pin, do not deploy")
    p.set_defaults(handler=_H + "cmd_rollback")


def _repo() -> Repo:
    from pipelines.repo.layout import Repo

    return Repo.discover()


def _workflows(files: list[Path]) -> list[Path]:
    if files:
        return files
    folder = _repo().root / ".github" / "workflows"
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def cmd_guard_pr(args: argparse.Namespace) -> int:
    from pipelines.gitops import GuardError
    from pipelines.gitops.guard import check_branch, check_pull_request, is_hotfix_branch

    if not args.base or not args.head:
        raise GuardError("aip guard pr: --base and --head are required (or GITHUB_BASE_REF/GITHUB_HEAD_REF)")
    repo = _repo()
    labels = [label.strip() for label in (args.labels or "").split(",") if label.strip()]
    labels += _current_labels(int(args.pr) if str(args.pr).isdigit() else None)
    verdict = check_pull_request(
        repo.platform.promotion_order,
        args.base,
        args.head,
        head_repo=args.head_repo,
        repo=args.repo,
        labels=labels,
    )
    print(verdict.message)
    if is_hotfix_branch(args.head, args.base) and not args.head_sha:
        raise GuardError(f"{args.head} is a hotfix branch: give --head-sha, its commits must be on main")
    if args.head_sha and args.base.startswith("env/"):
        print(check_branch(repo.root, args.head_sha, args.main).message)
    return 0


def _current_labels(number: int | None) -> list[str]:
    """The PR's labels now, from the API (the event's payload is stale when a re-run follows a label)."""
    from pipelines.github import GitHub
    from pipelines.gitops.actions import annotate

    gh = GitHub.from_env() if number else None
    if gh is None:
        return []
    try:
        return [str(label["name"]) for label in gh.paginate(f"issues/{number}/labels")]
    except Exception as exc:
        from pipelines.errors import is_expected

        if not is_expected(exc):
            raise
        annotate("warning", f"could not read the labels of #{number} ({exc}); using --labels")
        return []


def cmd_guard_branch(args: argparse.Namespace) -> int:
    from pipelines.gitops.guard import check_branch

    print(check_branch(_repo().root, args.branch, args.main).message)
    return 0


def cmd_guard_workflows(args: argparse.Namespace) -> int:
    from pipelines.gitops.actions import annotate, in_actions
    from pipelines.gitops.workflows import check_files

    files = _workflows(args.files)
    findings = check_files(files, _repo().root)
    for finding in findings:
        print(finding, file=sys.stderr)
        if in_actions():
            annotate("error", f"{finding.rule} {finding.message}", file=finding.file, line=finding.line)
    if findings:
        print(f"{len(findings)} finding(s) in {len(files)} workflow(s)", file=sys.stderr)
        return EXIT_FAILED
    print(f"ok: {len(files)} workflow(s) follow the house rules")
    return 0


def cmd_ci_plan(args: argparse.Namespace) -> int:
    from pipelines.gitops.plan import plan

    plan(_repo(), args.base, args.head, args.env)
    return 0


def cmd_ci_smoke(args: argparse.Namespace) -> int:
    from pipelines.gitops.smoke import smoke, write

    result = smoke(
        _repo(),
        args.models,
        env=args.env,
        champion_env=args.champion_env,
        max_train_samples=args.max_train_samples,
        epochs=args.epochs,
    )
    if args.summary_json:
        write(result, args.summary_json)
        print(f"wrote {args.summary_json}")
    return 0


def cmd_ci_comment(args: argparse.Namespace) -> int:
    from pipelines.gitops.comment import comment

    print(comment(args.folder, args.reports, post_it=args.post, out=args.out))
    return 0


def cmd_ci_summary(args: argparse.Namespace) -> int:
    from pipelines.gitops.comment import summarise

    print(f"{summarise(args.folders)} report(s) added to the job summary")
    return 0


def cmd_ci_deployed(args: argparse.Namespace) -> int:
    from pipelines.gitops.deployed import deployed

    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    deployed(_repo(), args.env, args.reports, models)
    return 0


def cmd_ci_needs_ok(args: argparse.Namespace) -> int:
    from pipelines.gitops.checks import needs_ok

    return needs_ok(os.environ.get("NEEDS", ""))


def cmd_ci_require(args: argparse.Namespace) -> int:
    from pipelines.gitops.checks import require

    require(args.names, args.purpose)
    return 0


def cmd_ci_promote(args: argparse.Namespace) -> int:
    from pipelines.gitops.promote import promote, render_body

    repo = _repo()
    order = repo.platform.promotion_order
    target = args.target
    if target is None:
        if args.source not in order or order.index(args.source) + 1 >= len(order):
            print(f"{args.source} is the last environment ({' → '.join(order)}): nothing to promote to")
            return 0
        target = order[order.index(args.source) + 1]
    if args.dry_run:
        print(render_body(repo, args.source, target))
        return 0
    print(promote(repo, args.source, target))
    return 0


def cmd_ci_hotfix(args: argparse.Namespace) -> int:
    from pipelines.gitops.hotfix import hotfix

    result = hotfix(_repo(), args.env, args.commits, remote=args.remote, push=not args.no_push)
    for line in result.picked:
        print(f"picked  {line}")
    for line in result.skipped:
        print(f"skipped {line} (already in {result.base})")
    if result.pull_request:
        print(f"opened {result.pull_request}: {result.branch} → {result.base} (label hotfix)")
    elif result.pushed:
        print(
            f"pushed {result.branch}; no GITHUB_TOKEN: open the PR into {result.base} with the label hotfix"
        )
    else:
        print(f"made {result.branch} locally (not pushed)")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from pipelines.gitops.rollback import rollback

    repo = _repo()
    result = rollback(
        repo,
        args.model,
        args.env,
        to=args.to,
        reason=args.reason,
        remote=args.remote,
        push=not args.no_push,
        deploy=not args.no_deploy,
    )
    if result.branch:
        order = repo.platform.promotion_order
        print(result.next_steps(hotfix_ok=result.env in order[1:]))
    if result.deploy_verdict and result.deploy_verdict not in ("promoted", "promoted_directly", "up_to_date"):
        return EXIT_FAILED
    return 0


def cmd_ci_terraform(args: argparse.Namespace) -> int:
    from pipelines.gitops.terraform import terraform

    return terraform(
        _repo().root,
        args.action,
        args.root,
        comment=args.comment,
        via_tunnel=args.tunnel,
        tunnel_port=args.tunnel_port,
        plan_file=args.plan,
    )


def cmd_ci_grafana_publish(args: argparse.Namespace) -> int:
    from pipelines.gitops.grafana import publish

    publish(args.folder)
    return 0
