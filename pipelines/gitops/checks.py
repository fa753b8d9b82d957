"""Small CI decisions as commands: the aggregating required check and configuration.

aip ci needs-ok                   (NEEDS='${{ toJSON(needs) }}') fail if any needed job failed
aip ci require VAR ...            output configured=true/false; a notice names what a fork must set
"""

from __future__ import annotations

import json
import os

from pipelines.gitops import GuardError
from pipelines.gitops.actions import annotate, set_output, write_summary

__all__ = ["needs_ok", "require"]

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
