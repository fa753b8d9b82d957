"""`aip ci deployed REPORT... --env ENV`: did this push really deploy every model? (promotion's gate)

Reads the JSON reports `aip deploy --report-json` wrote (files, or folders searched for
`deploy.json`) and sets the step output `deployed=true` only when every model has a report for ENV
whose verdict is `promoted`, `promoted_directly` or `up_to_date` (nothing to deploy: the alias
already holds the version of the commit's fingerprint) and whose alias ends on that version, or
`held` (model.yaml's `environments.<env>.hold`: the model stays where it is, ADR 0022).
Otherwise `deployed=false`, so deploy.yml does not call promote.yml and a commit never walks to the
next environment undeployed:
- no report at all: the deploy jobs were skipped (a fork without GPU runners or a cloud role) or
  never reached `aip deploy`: a notice, not a failure;
- a model without a report, or rolled back, aborted, refused: a warning naming it.
The command itself exits 0 either way (the deploy job that failed is the red X); 2 on bad usage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipelines.gitops import GuardError
from pipelines.gitops.actions import annotate, set_output, write_summary
from pipelines.repo.layout import Repo

__all__ = ["DEPLOYED", "Outcome", "deployed", "read_reports"]

# Verdicts that leave the environment on the commit's version (up_to_date: `aip deploy` had nothing
# to deploy, the alias already held it; held: model.yaml holds or pins the model here, ADR 0022, so
# the alias stays where the pin in git says and the other models still promote).
DEPLOYED = {"promoted", "promoted_directly", "up_to_date", "held"}
REPORT_NAME = "deploy.json"  # what deploy.yml passes to --report-json: .aip/reports/<env>/<model>/deploy.json


@dataclass(frozen=True)
class Outcome:
    model: str
    version: str
    verdict: str
    alias_after: str
    reason: str

    @property
    def ok(self) -> bool:
        if self.verdict == "held":  # the alias stays where it was: nothing to compare with
            return True
        return self.verdict in DEPLOYED and self.alias_after == self.version


def read_reports(paths: list[Path], env: str) -> tuple[dict[str, Outcome], list[str]]:
    """Outcomes by model of the reports for `env` under `paths`, and the problems found reading them."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.rglob(REPORT_NAME)))
        elif path.is_file():
            files.append(path)
    outcomes: dict[str, Outcome] = {}
    problems: list[str] = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            model, report_env = str(data["model"]), str(data["env"])
            outcome = Outcome(
                model,
                str(data["version"]),
                str(data["verdict"]),
                str(data.get("alias_after")),
                str(data.get("reason", "")),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{file}: not a deploy report ({type(exc).__name__}: {exc})")
            continue
        if report_env != env:
            problems.append(f"{file}: a report for '{report_env}', not '{env}'")
            continue
        outcomes[model] = outcome
    return outcomes, problems


def _v(version: str) -> str:
    return f"v{version}" if version and version != "None" else "—"


def deployed(repo: Repo, env: str, paths: list[Path], models: list[str] | None = None) -> bool:
    """Set `deployed=true|false` (see the module docstring); the answer."""
    name, _ = repo.environment(env.removeprefix("env/"))  # a branch name works too
    expected = models or repo.model_names()
    unknown = sorted(set(expected) - set(repo.model_names()))
    if unknown:
        have = ", ".join(repo.model_names())
        raise GuardError(f"unknown model(s): {', '.join(unknown)} (models/ has: {have})")
    outcomes, problems = read_reports(paths, name)
    rows = [f"| model | version | verdict | @{name} after | pin in git |", "| --- | --- | --- | --- | --- |"]
    for model in expected:
        o = outcomes.get(model)
        settings = repo.model(model).environment(name)
        pin = settings.pin + (f": {settings.reason}" if settings.reason else "") if settings.pin else "—"
        rows.append(
            f"| {model} | {_v(o.version)} | {o.verdict} | {_v(o.alias_after)} | {pin} |"
            if o
            else f"| {model} | — | no report | — | {pin} |"
        )
    missing = [m for m in expected if m not in outcomes]
    failed = [outcomes[m] for m in expected if m in outcomes and not outcomes[m].ok]
    for problem in problems:
        annotate("warning", problem)
    if not outcomes:
        why = (
            f"nothing was deployed to {name}: no deploy report was found (the deploy jobs were skipped, "
            "e.g. this repository has no GPU runners (AIP_GPU_RUNNERS) or no cloud role (AWS_ROLE_ARN) "
            "configured, or they stopped before `aip deploy`); the next environment is not promoted. "
            "See docs/gitops.md"
        )
        annotate("notice", why)
        write_summary("\n".join([f"### Deployed to {name}: no", "", f"> {why}"]))
        set_output("deployed", "false")
        return False
    for model in missing:
        annotate("warning", f"{model}: no deploy report for {name}; the next environment is not promoted")
    for o in failed:
        annotate(
            "warning",
            f"{o.model}: v{o.version} {o.verdict} in {name} (@{name} on v{o.alias_after})"
            + (f": {o.reason}" if o.reason else "")
            + "; the next environment is not promoted",
        )
    ok = not missing and not failed
    write_summary("\n".join([f"### Deployed to {name}: {'yes' if ok else 'no'}", "", *rows]))
    set_output("deployed", str(ok).lower())
    if ok:
        print(f"ok: {len(expected)} model(s) at the commit's version in {name}")
    return ok
