"""`aip doctor`: compare a fork's GitHub settings with what it needs (pipelines/fork/settings.py).

    aip doctor                    # the repository of platform.yaml, token from $GITHUB_TOKEN
    aip doctor --apply            # then create what can be created, and check again
    aip doctor --repo o/r --json  # another repository; the checks as JSON

Reads only GitHub's documented REST endpoints (API version 2022-11-28) through pipelines/github.py:
the repository, its environments with their deployment branch policies, variables and secret names
(per environment and for the repository), rulesets, the Actions workflow permissions, the env/*
branches and, for organisations, the runner groups this repository may use. Each check ends `ok`,
`missing`, `wrong`, `optional` (missing, but CI falls back without it) or `unknown` (cannot be read
with this token, e.g. runner groups need an organisation admin; never a failure by itself).

`--apply` sends only creating requests: environments (deployment branch policy; required reviewers
when platform.yaml's reviewer team resolves), deployment branch policies, variables whose value
platform.yaml decides, the workflow permissions, merge commits, env/* branches from the default
branch's tip, and the committed rulesets (.github/rulesets/*.json, created or updated to match). It
never writes a secret: values are yours, so it lists the `gh secret set` lines instead, and it never
deletes anything (an extra branch policy is reported for you to remove).

GitHub is unreachable from the test machine: tests/fork/test_doctor.py runs this against recorded
responses shaped like GitHub's documented answers (tests/fixtures/github/).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pipelines.errors import AipError
from pipelines.fork.settings import REPOSITORY, ForkSettings, Ruleset, SettingNeed
from pipelines.github import GitHub
from pipelines.http import HttpError

__all__ = ["Check", "DoctorError", "Fix", "Report", "TokenRejected", "apply", "diagnose", "render_report"]

Status = Literal["ok", "missing", "wrong", "optional", "unknown"]
FAILING: tuple[Status, ...] = ("missing", "wrong")
# --apply sends fixes in this order: a branch policy needs its environment, a ruleset's "pull request
# only" must come after the branches it protects are created.
_ORDER = {"repository": 0, "environment": 1, "variable": 2, "actions": 3, "branch": 4, "ruleset": 5}


class DoctorError(AipError):
    """The repository cannot be checked at all."""


class TokenRejected(AipError):
    """GitHub answered 401: the token is missing, expired or revoked."""


@dataclass(frozen=True)
class Fix:
    """One request `--apply` sends."""

    method: str
    path: str
    body: dict[str, Any] | None
    what: str


@dataclass
class Check:
    area: str
    """repository | environment | variable | secret | ruleset | actions | branch | runners"""
    name: str
    status: Status
    detail: str = ""
    required: bool = True
    fixes: list[Fix] = field(default_factory=list)
    todo: str = ""
    """What a person must do when --apply cannot (a secret's value, a reviewer, an org setting)."""

    @property
    def failing(self) -> bool:
        return self.required and self.status in FAILING


@dataclass
class Report:
    repository: str
    api_url: str
    checks: list[Check]
    applied: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(check.failing for check in self.checks)

    def fixes(self) -> list[Fix]:
        ordered = sorted(
            (c for c in self.checks if c.status in (*FAILING, "optional") and c.fixes),
            key=lambda c: _ORDER.get(c.area, 9),
        )
        return [fix for check in ordered for fix in check.fixes]

    def to_json(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "api_url": self.api_url,
            "ok": self.ok,
            "checks": [
                {
                    **{k: v for k, v in asdict(c).items() if k != "fixes"},
                    "fixes": [f"{f.method} {f.path}" for f in c.fixes],
                }
                for c in self.checks
            ],
            "applied": self.applied,
        }


def _q(name: str) -> str:
    return urllib.parse.quote(name, safe="")


class _Reader:
    """GET with GitHub's errors sorted: 401 stops everything, 403/404 become `None` plus the reason."""

    def __init__(self, gh: GitHub) -> None:
        self.gh = gh

    def get(self, path: str) -> tuple[Any, str]:
        try:
            return self.gh.get(path), ""
        except HttpError as exc:
            if exc.status == 401:
                raise TokenRejected(
                    f"GitHub refused the token (HTTP 401 {exc.message.strip()[:120]}): check that it is "
                    "valid and not expired"
                ) from None
            if exc.status in (403, 404):
                return None, f"HTTP {exc.status}"
            raise

    def listing(self, path: str, key: str) -> tuple[list[Any] | None, str]:
        try:
            return self.gh.paginate(path, key=key), ""
        except HttpError as exc:
            if exc.status == 401:
                self.get(path)  # raises TokenRejected with the message
            if exc.status in (403, 404):
                return None, f"HTTP {exc.status}"
            raise


def _unreadable(area: str, name: str, reason: str, needs: str) -> Check:
    return Check(area, name, "wrong", f"cannot read it ({reason}): the token needs {needs}")


def _environment_body(reviewers: list[dict[str, Any]] | None, scheduled: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
    }
    if reviewers:
        body["reviewers"] = reviewers
        body["prevent_self_review"] = True
    elif scheduled:
        body["reviewers"] = []  # a scheduled job must never wait
    return body


def _reviewer_team(
    reader: _Reader, settings: ForkSettings, owner: str, org: bool
) -> tuple[list[dict[str, Any]], str]:
    """The reviewers body for environments that require approval, and why it is empty when it is."""
    if not settings.reviewer_team:
        return [], "platform.yaml names no platform team (organisation.teams.platform)"
    if not org:
        return [], "a personal repository has no teams"
    team, reason = reader.get(f"/orgs/{owner}/teams/{_q(settings.reviewer_team)}")
    if not team:
        return [], f"team {owner}/{settings.reviewer_team} not found ({reason})"
    return [{"type": "Team", "id": int(team["id"])}], ""


def _check_environments(
    reader: _Reader, settings: ForkSettings, owner: str, org: bool
) -> tuple[list[Check], set[str]]:
    checks: list[Check] = []
    listed, reason = reader.listing("environments", "environments")
    if listed is None:
        return [_unreadable("environment", "environments", reason, "Actions: read")], set()
    existing = {str(e["name"]): e for e in listed}
    team_cache: list[tuple[list[dict[str, Any]], str]] = []

    def team() -> tuple[list[dict[str, Any]], str]:
        if not team_cache:
            team_cache.append(_reviewer_team(reader, settings, owner, org))
        return team_cache[0]

    for env in settings.environments:
        # jobs that start on the default branch (schedules: drift, ingestion) must never wait for anyone
        scheduled = env.branches == ("main",) and not env.reviewers
        policy_fixes = [
            Fix(
                "POST",
                f"environments/{_q(env.name)}/deployment-branch-policies",
                {"name": b, "type": "branch"},
                f"allow {b} to deploy to {env.name}",
            )
            for b in env.branches
        ]
        rules = f"branches {', '.join(env.branches)}" + ("; required reviewers" if env.reviewers else "")
        found = existing.get(env.name)
        if found is None:
            reviewers, why = team() if env.reviewers else ([], "")
            todo = (
                f"add required reviewers to {env.name} by hand: {why}"
                if env.reviewers and not reviewers
                else ""
            )
            checks.append(
                Check(
                    "environment",
                    env.name,
                    "missing",
                    f"create it ({rules})",
                    todo=todo,
                    fixes=[
                        Fix(
                            "PUT",
                            f"environments/{_q(env.name)}",
                            _environment_body(reviewers, scheduled),
                            f"create environment {env.name}",
                        ),
                        *policy_fixes,
                    ],
                )
            )
            continue
        problems: list[str] = []
        fixes: list[Fix] = []
        todo = ""
        current_reviewers = [
            {"type": r.get("type"), "id": (r.get("reviewer") or {}).get("id")}
            for rule in found.get("protection_rules") or []
            if rule.get("type") == "required_reviewers"
            for r in rule.get("reviewers") or []
        ]
        policy = found.get("deployment_branch_policy") or {}
        custom = bool(policy.get("custom_branch_policies")) and not policy.get("protected_branches")
        reviewers = current_reviewers
        needs_put = not custom
        if not custom:
            problems.append(
                "any branch may deploy (set 'Selected branches')"
                if not policy
                else "not limited to selected branches"
            )
        if env.reviewers and not current_reviewers:
            reviewers, why = team()
            problems.append("no required reviewers (platform.yaml requires_approval)")
            needs_put = needs_put or bool(reviewers)
            if not reviewers:
                todo = f"add required reviewers to {env.name} by hand: {why}"
        if scheduled and current_reviewers:
            problems.append("has required reviewers: its scheduled jobs would wait for one")
            reviewers, needs_put = [], True
        if needs_put:
            fixes.append(
                Fix(
                    "PUT",
                    f"environments/{_q(env.name)}",
                    _environment_body(reviewers, scheduled),
                    f"update environment {env.name}",
                )
            )
        names: set[str] = set()
        if custom or needs_put:
            listed_policies, why = reader.listing(
                f"environments/{_q(env.name)}/deployment-branch-policies", "branch_policies"
            )
            names = {str(p["name"]) for p in listed_policies or []} if custom else set()
            if listed_policies is None and custom:
                problems.append(f"cannot read its branch policies ({why})")
        lacking = [b for b in env.branches if b not in names]
        extra = sorted(names - set(env.branches))
        if lacking:
            problems.append(f"branch policy lacks {', '.join(lacking)}")
            fixes += [f for f in policy_fixes if f.body and f.body["name"] in lacking]
        if extra:
            problems.append(f"also lets {', '.join(extra)} deploy")
            todo = (
                todo + "; " if todo else ""
            ) + f"remove {', '.join(extra)} from {env.name}'s deployment branches"
        checks.append(
            Check(
                "environment",
                env.name,
                "wrong" if problems else "ok",
                "; ".join(problems) or rules,
                fixes=fixes,
                todo=todo,
            )
        )
    return checks, set(existing)


def _check_settings(reader: _Reader, settings: ForkSettings, environments: set[str]) -> list[Check]:
    """Variables and secret names, per scope; a repository value serves environments where `inherit`."""
    slug = settings.repository
    present: dict[tuple[str, str], dict[str, Any]] = {}  # (scope, kind) -> name -> item
    unreadable: dict[tuple[str, str], str] = {}
    scopes = [REPOSITORY] + [env.name for env in settings.environments if env.name in environments]
    for scope in scopes:
        base = "actions" if scope == REPOSITORY else f"environments/{_q(scope)}"
        for kind, key in (("variable", "variables"), ("secret", "secrets")):
            items, why = reader.listing(f"{base}/{key}", key)
            if items is None:
                unreadable[(scope, kind)] = why
            present[(scope, kind)] = {str(i["name"]): i for i in items or []}
    checks: list[Check] = []
    for need in settings.settings:
        label = f"{need.scope}: {need.name}" if need.scope != REPOSITORY else need.name
        where = "the repository" if need.scope == REPOSITORY else f"environment {need.scope}"
        check = Check(need.kind, label, "ok", need.purpose, required=not need.optional)
        if (need.scope, need.kind) in unreadable:
            check.status = "wrong"
            check.detail = f"cannot list {need.kind}s of {where} ({unreadable[(need.scope, need.kind)]})"
        else:
            item = present.get((need.scope, need.kind), {}).get(need.name)
            if item is None and need.inherit:
                item = present.get((REPOSITORY, need.kind), {}).get(need.name)
                if item is not None:
                    check.detail = "the repository's value serves this environment"
            if item is None:
                check.status = "optional" if need.optional else "missing"
                exists = need.scope == REPOSITORY or need.scope in environments
                check.detail = need.purpose if exists else f"once {where} exists: {need.purpose}"
            elif (
                need.value is not None and item.get("value") is not None and str(item["value"]) != need.value
            ):
                check.status = "wrong"
                check.detail = f"is {item['value']!r}, expected {need.value!r}: {need.purpose}"
        if check.status in ("missing", "wrong", "optional"):
            _fix_setting(check, need, slug)
        checks.append(check)
    return checks


def _fix_setting(check: Check, need: SettingNeed, slug: str) -> None:
    env_flag = "" if need.scope == REPOSITORY else f" --env {need.scope}"
    if need.kind == "secret":
        check.todo = f"gh secret set {need.name}{env_flag} --repo {slug}"
        return
    if need.value is None:
        check.todo = f"gh variable set {need.name}{env_flag} --repo {slug} --body VALUE"
        return
    if need.name == "AIP_GPU_RUNNERS":  # a statement about runners only a person can make
        check.todo = (
            f"once the runner scale sets exist: gh variable set {need.name} --repo {slug} --body true"
        )
        return
    if need.inherit and need.scope != REPOSITORY:  # the repository's value serves every environment
        check.todo = f"the repository's {need.name} serves it (aip doctor --apply creates that one)"
        return
    base = "actions" if need.scope == REPOSITORY else f"environments/{_q(need.scope)}"
    if check.status == "wrong":
        check.fixes = [
            Fix(
                "PATCH",
                f"{base}/variables/{need.name}",
                {"name": need.name, "value": need.value},
                f"set {need.name}={need.value} ({need.scope})",
            )
        ]
    else:
        check.fixes = [
            Fix(
                "POST",
                f"{base}/variables",
                {"name": need.name, "value": need.value},
                f"create {need.name}={need.value} ({need.scope})",
            )
        ]


def _rule_problems(want: dict[str, Any], have: dict[str, Any]) -> list[str]:
    """What a ruleset on GitHub lacks compared with the committed body (extra rules are the fork's)."""
    problems = []
    if have.get("enforcement") != want["enforcement"]:
        problems.append(f"enforcement is {have.get('enforcement')!r}, not {want['enforcement']!r}")
    if have.get("target") != want["target"]:
        problems.append(f"target is {have.get('target')!r}")
    include = ((have.get("conditions") or {}).get("ref_name") or {}).get("include") or []
    if sorted(include) != sorted(want["conditions"]["ref_name"]["include"]):
        problems.append(f"applies to {include}, not {want['conditions']['ref_name']['include']}")
    rules = {r["type"]: r.get("parameters") or {} for r in have.get("rules") or []}
    for rule in want["rules"]:
        if rule["type"] not in rules:
            problems.append(f"no {rule['type']} rule")
            continue
        for key, value in (rule.get("parameters") or {}).items():
            got = rules[rule["type"]].get(key)
            if key == "required_status_checks":
                contexts = {c.get("context") for c in got or []}
                lacking = sorted({c["context"] for c in value} - contexts)
                if lacking:
                    problems.append(f"does not require {', '.join(lacking)}")
            elif key == "allowed_merge_methods":
                if got is not None and sorted(got) != sorted(value):
                    problems.append(f"merge methods {got}, not {value}")
            elif got is not None and got != value and not (isinstance(value, bool) and not value):
                problems.append(f"{rule['type']}.{key} is {got!r}, not {value!r}")
    return problems


def _check_rulesets(reader: _Reader, settings: ForkSettings) -> list[Check]:
    listed, reason = reader.listing("rulesets", "")
    if listed is None:
        return [_unreadable("ruleset", "rulesets", reason, "Administration: read")]
    by_name = {str(r["name"]): r for r in listed}
    checks = []
    for ruleset in settings.rulesets:
        checks.append(_check_ruleset(reader, ruleset, by_name.get(ruleset.name), settings.repository))
    return checks


def _check_ruleset(reader: _Reader, ruleset: Ruleset, found: dict[str, Any] | None, slug: str) -> Check:
    include = ", ".join(ruleset.body["conditions"]["ref_name"]["include"])
    if found is None:
        if ruleset.optional:
            return Check(
                "ruleset",
                ruleset.name,
                "optional",
                f"on {include}: add it from {ruleset.file} if you want it",
                required=False,
                todo=f"gh api -X POST repos/{slug}/rulesets --input {ruleset.file}",
            )
        return Check(
            "ruleset",
            ruleset.name,
            "missing",
            f"on {include} ({ruleset.file})",
            fixes=[Fix("POST", "rulesets", ruleset.body, f"create ruleset {ruleset.name}")],
        )
    detail, _ = reader.get(f"rulesets/{int(found['id'])}")
    problems = _rule_problems(ruleset.body, detail or found)
    if not problems:
        return Check("ruleset", ruleset.name, "ok", f"on {include}", required=not ruleset.optional)
    # the committed body, plus the rules of other types the fork added on GitHub (kept, never deleted)
    ours = {rule["type"] for rule in ruleset.body["rules"]}
    extra = [rule for rule in (detail or {}).get("rules") or [] if rule.get("type") not in ours]
    body = {**ruleset.body, "rules": [*ruleset.body["rules"], *extra]}
    return Check(
        "ruleset",
        ruleset.name,
        "wrong",
        "; ".join(problems),
        required=not ruleset.optional,
        fixes=[Fix("PUT", f"rulesets/{int(found['id'])}", body, f"update ruleset {ruleset.name}")],
    )


def _check_actions(reader: _Reader, settings: ForkSettings) -> Check:
    want = settings.workflow_permissions
    have, reason = reader.get("actions/permissions/workflow")
    name = "workflow permissions"
    if have is None:
        return _unreadable("actions", name, reason, "Administration: read")
    problems = []
    if not have.get("can_approve_pull_request_reviews"):
        problems.append("'Allow GitHub Actions to create and approve pull requests' is off (promotion PRs)")
    if have.get("default_workflow_permissions") != want["default_workflow_permissions"]:
        problems.append(f"default token is {have.get('default_workflow_permissions')!r}, not 'read'")
    if not problems:
        return Check("actions", name, "ok", "read-only default token; Actions may open pull requests")
    return Check(
        "actions",
        name,
        "wrong",
        "; ".join(problems),
        fixes=[
            Fix("PUT", "actions/permissions/workflow", dict(want), "set the Actions workflow permissions")
        ],
    )


def _check_branches(reader: _Reader, settings: ForkSettings, default: str) -> list[Check]:
    checks = []
    main_sha = ""
    for branch in settings.branches:
        found, _ = reader.get(f"branches/{_q(branch)}")
        if found is not None:
            checks.append(Check("branch", branch, "ok", f"at {str(found['commit']['sha'])[:12]}"))
            continue
        if not main_sha:
            tip, _ = reader.get(f"branches/{_q(default)}")
            main_sha = str(tip["commit"]["sha"]) if tip else ""
        fixes = (
            [
                Fix(
                    "POST",
                    "git/refs",
                    {"ref": f"refs/heads/{branch}", "sha": main_sha},
                    f"create {branch} from {default}",
                )
            ]
            if main_sha
            else []
        )
        checks.append(
            Check(
                "branch",
                branch,
                "missing",
                f"create it from {default} (the first promotion needs it)",
                fixes=fixes,
            )
        )
    return checks


def _check_runners(reader: _Reader, settings: ForkSettings, repo: dict[str, Any]) -> Check | None:
    if not settings.runners:
        return None
    sets = ", ".join(settings.runners)
    owner = repo["owner"]
    if owner.get("type") != "Organization":
        return Check(
            "runners",
            "runner groups",
            "ok",
            f"personal repository: {sets} register to the repository itself",
            required=False,
        )
    groups, reason = reader.listing(
        f"/orgs/{owner['login']}/actions/runner-groups?visible_to_repository={_q(repo['name'])}",
        "runner_groups",
    )
    if groups is None:
        return Check(
            "runners",
            "runner groups",
            "unknown",
            f"cannot check ({reason}): needs an organisation admin (Self-hosted runners: read)",
            required=False,
            todo=f"an org admin checks that a runner group with {sets} lets this repository use it",
        )
    usable, problems = [], []
    for group in groups:
        if not repo.get("private", True) and not group.get("allows_public_repositories"):
            problems.append(f"{group['name']}: public repositories not allowed")
            continue
        if group.get("restricted_to_workflows"):
            allowed = [
                w
                for w in group.get("selected_workflows") or []
                if "/.github/workflows/deploy.yml@" in w and w.startswith(f"{settings.repository}/")
            ]
            if not allowed:
                problems.append(f"{group['name']}: restricted to workflows other than deploy.yml")
                continue
        usable.append(str(group["name"]))
    if usable:
        return Check(
            "runners", "runner groups", "ok", f"{', '.join(usable)} usable by this repository ({sets})"
        )
    return Check(
        "runners",
        "runner groups",
        "missing",
        "no runner group lets this repository run "
        + sets
        + (f" ({'; '.join(problems)})" if problems else ""),
        todo="Organization settings → Actions → Runner groups: give this repository (and deploy.yml) access",
    )


def diagnose(gh: GitHub, settings: ForkSettings) -> Report:
    """Every check, read-only. Raises TokenRejected (401), Unreachable, or DoctorError (no repository)."""
    reader = _Reader(gh)
    repo, reason = reader.get(f"/repos/{gh.slug}")
    if repo is None:
        raise DoctorError(
            f"repository {gh.slug} not found on {gh.api_url} ({reason}): "
            "check --repo, and that the token can see it"
        )
    org = repo.get("owner", {}).get("type") == "Organization"
    checks: list[Check] = []
    if repo.get("allow_merge_commit") is False:
        checks.append(
            Check(
                "repository",
                "merge commits",
                "wrong",
                "off: env/* branches are merged, never squashed",
                fixes=[
                    Fix("PATCH", f"/repos/{gh.slug}", {"allow_merge_commit": True}, "allow merge commits")
                ],
            )
        )
    else:
        checks.append(Check("repository", "merge commits", "ok", "allowed (env/* branches are merged)"))
    env_checks, environments = _check_environments(reader, settings, gh.owner, org)
    checks += env_checks
    checks += _check_settings(reader, settings, environments)
    checks += _check_rulesets(reader, settings)
    checks.append(_check_actions(reader, settings))
    checks += _check_branches(reader, settings, str(repo.get("default_branch") or "main"))
    runners = _check_runners(reader, settings, repo)
    if runners:
        checks.append(runners)
    return Report(gh.slug, gh.api_url, checks)


def apply(gh: GitHub, report: Report) -> list[str]:
    """Send every fix in order; one line per request ("ok ..." or "failed ...: why"). Never a secret."""
    done = []
    for fix in report.fixes():
        try:
            gh.call(fix.method, fix.path, fix.body)
            done.append(f"ok      {fix.what}")
        except HttpError as exc:
            if exc.status == 401:
                raise TokenRejected(
                    f"GitHub refused the token (HTTP 401) at {fix.method} {fix.path}"
                ) from None
            done.append(f"failed  {fix.what}: HTTP {exc.status} {exc.message.strip()[:160]}")
    return done


_MARK = {"ok": "ok", "missing": "MISSING", "wrong": "WRONG", "optional": "optional", "unknown": "unknown"}


def render_report(report: Report) -> str:
    """One screen: what is missing or wrong first, each with what to do (variables and secrets folded
    into one line per scope); then what cannot be checked, what is optional; what is fine, folded."""
    lines = [f"aip doctor: {report.repository} on {report.api_url}"]
    if report.applied:
        lines += ["applied:"] + [f"  {line}" for line in report.applied]
    settings = ("variable", "secret")
    folded: dict[tuple[Status, str, str], list[Check]] = {}
    absent = [c for c in report.checks if c.area == "environment" and c.status == "missing"]
    if len(absent) > 1:  # one line: each is created the same way, by --apply
        names = ", ".join(f"{c.name} ({c.detail.removeprefix('create it (').rstrip(')')})" for c in absent)
        lines.append(_row("missing", "environments", "create them", names, absent[0]))
    for check in report.checks:
        if len(absent) > 1 and check in absent:
            continue
        if check.area in settings and check.status == "missing":
            scope = check.name.rpartition(": ")[0] or REPOSITORY
            folded.setdefault((check.status, check.area, scope), []).append(check)
        elif check.status in (*FAILING, "unknown") or (
            check.status == "optional" and check.area not in settings
        ):
            lines.append(_row(check.status, check.area, check.name, check.detail, check))
    for (status, area, scope), checks in folded.items():
        if len(checks) == 1:
            lines.append(_row(status, area, checks[0].name, checks[0].detail, checks[0]))
            continue
        flag = "" if scope == REPOSITORY else f" --env {scope}"
        verb = "secret set NAME" if area == "secret" else "variable set NAME --body VALUE"
        todo = f"gh {verb}{flag} --repo {report.repository}"
        names = ", ".join(c.name.rpartition(": ")[2] for c in checks)
        lines.append(_row(status, f"{area}s", scope, names, Check(area, scope, status, todo=todo)))
    optional = [c for c in report.checks if c.status == "optional" and c.area in settings]
    if optional:
        names = ", ".join(sorted({c.name.rpartition(": ")[2] for c in optional}))
        lines.append(
            f"{'optional':<8} {len(optional)} variables/secrets not set (CI falls back without them): {names}"
        )
    fine: dict[str, list[str]] = {}
    for check in report.checks:
        if check.status == "ok":
            fine.setdefault("variables and secrets" if check.area in settings else check.area, []).append(
                check.name
            )
    for area, found in fine.items():
        text = f"{len(found)} set" if area == "variables and secrets" else ", ".join(found)
        lines.append(f"{'ok':<8} {area:<11} {text}")
    failing = [c for c in report.checks if c.failing]
    unknown = [c for c in report.checks if c.status == "unknown"]
    fixable = sum(1 for c in failing if c.fixes)
    summary = (
        f"{len(failing)} to fix ({fixable} by `aip doctor --apply`; secrets are yours to set)"
        if failing
        else "every required setting is there"
    )
    summary += f", {len(unknown)} cannot be checked with this token" if unknown else ""
    lines.append(("ok   " if report.ok else "FAIL ") + summary + " (--json for every check)")
    return "\n".join(lines) + "\n"


def _row(status: Status, area: str, name: str, detail: str, check: Check) -> str:
    fix = "  [--apply]" if check.fixes and status != "ok" else ""
    todo = f"  → {check.todo}" if check.todo and status != "ok" else ""
    return f"{_MARK[status]:<8} {area:<11} {name}: {detail}{fix}{todo}"
