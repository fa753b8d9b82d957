"""Small CI decisions as commands: the aggregating required check, configuration and availability.

aip ci needs-ok                   (NEEDS='${{ toJSON(needs) }}') fail if any needed job failed
aip ci require VAR ...            output configured=true/false; a notice names what a fork must set
aip ci optional CMD [ARGS ...]    run `aip CMD ARGS` if this aip has CMD; else a notice, exit 0
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from pipelines.gitops import GuardError
from pipelines.gitops.actions import annotate, set_output, write_summary

__all__ = ["PENDING", "has_command", "needs_ok", "optional", "require"]

# Commands other issues add; workflows call them through `aip ci optional` (or, for deploy, directly).
PENDING = {
    "serve": "issue 3 (serving)",
    "deploy": "issue 3 (serving and canary deployment)",
    "drift": "issue 6 (observability: drift)",
    "dashboards": "issue 6 (observability: dashboards)",
}
OK_RESULTS = {"success", "skipped"}  # a path-filtered job that did not run is not a failure


def needs_ok(needs_json: str) -> int:
    """Exit status of the single required check from `toJSON(needs)`."""
    if not needs_json.strip():
        raise GuardError("NEEDS is empty; set `env: NEEDS: ${{ toJSON(needs) }}` on the step")
    needs = json.loads(needs_json)
    rows = [f"| {job} | {data.get('result', '?')} |" for job, data in sorted(needs.items())]
    write_summary("\n".join(["### Required check", "", "| job | result |", "| --- | --- |", *rows]))
    bad = {job: data.get("result") for job, data in needs.items() if data.get("result") not in OK_RESULTS}
    for job, result in sorted(bad.items()):
        annotate("error", f"job `{job}` ended `{result}`; the pull request cannot merge until it passes")
    if bad:
        return 1
    print(f"ok: {len(needs)} job(s) succeeded or were skipped by their path filters")
    return 0


def require(names: list[str], purpose: str) -> bool:
    """Whether every environment variable in `names` is set; a clear notice (never a failure) if not."""
    missing = [n for n in names if not os.environ.get(n)]
    set_output("configured", str(not missing).lower())
    if missing:
        annotate(
            "notice",
            f"{purpose}: skipped, this repository has not configured {', '.join(missing)} "
            "(secrets/variables of the GitHub environment; see docs/gitops.md)",
        )
        write_summary(f"> **Skipped** {purpose}: not configured ({', '.join(missing)}). See docs/gitops.md.")
        return False
    print(f"ok: {purpose}: {', '.join(names)} configured")
    return True


def has_command(name: str) -> bool:
    from pipelines.cli.main import build_parser

    parser = build_parser()
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        choices = getattr(action, "choices", None)
        if choices and name in choices:
            return True
    return False


def optional(argv: list[str]) -> int:
    """Run `aip ARGV` when the subcommand exists; until its issue lands, a notice and exit 0."""
    if not argv:
        raise GuardError("aip ci optional: name the command to run, e.g. `aip ci optional drift MODEL`")
    name = argv[0]
    if not has_command(name):
        why = PENDING.get(name, "no issue adds it yet")
        annotate("notice", f"`aip {name}` does not exist yet ({why}); this step checks nothing until it does")
        write_summary(f"> **Not run**: `aip {' '.join(argv)}`; `aip {name}` arrives with {why}.")
        return 0
    return subprocess.run([sys.executable, "-m", "pipelines", *argv], check=False).returncode
