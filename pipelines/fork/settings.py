"""The GitHub settings a fork needs: the one model that `aip doctor` checks and `aip init` prints.

GitHub reads none of these from files, so they are computed here from what the repository says:

- the **environments** come from platform.yaml (every environment but `local`, in promotion order) and
  from the workflows: each job's `environment:` (`${{ ... }}`, `${{ ... }}-monitoring`,
  `infra-${{ ... }}`) names one GitHub environment per platform environment `E`;
- the **variables and secrets** are the `vars.X` / `secrets.X` the workflows read, scoped to the
  environment of the job that reads them, or to the repository for jobs without one; NEEDS below adds
  what the workflow text cannot say (optional or not, expected value, when it applies). docs/gitops.md's
  table "What a fork must set" describes the same names for people; tests/fork/test_settings.py fails
  when the two disagree (a structured list, not a parse of the table: its "kind" column is prose with
  conditions that a parser would turn into a grammar);
- **rulesets** are the committed request bodies in .github/rulesets/*.json (optional/ holds the ones a
  fork may add, e.g. the merge queue);
- the **branches** `env/<E>`, "Allow GitHub Actions to create and approve pull requests", merge commits,
  and the runner groups of the ARC scale sets that platform.yaml's `runner:` names.

    from pipelines.fork.settings import fork_settings, render_settings
    print(render_settings(repo.platform))
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipelines.config import Environment, PlatformConfig
from pipelines.errors import AipError

__all__ = [
    "NEEDS",
    "EnvironmentNeed",
    "ForkSettings",
    "Need",
    "Ruleset",
    "SettingNeed",
    "fork_settings",
    "load_rulesets",
    "render_settings",
    "workflow_settings",
]

Kind = Literal["variable", "secret"]
REPOSITORY = "repository"  # the scope of a setting that is not an environment's
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the checkout this package was installed from
_USE = re.compile(r"\b(vars|secrets)\.([A-Za-z_][A-Za-z0-9_]*)")
_EXPR = re.compile(r"\$\{\{[^}]*\}\}")


class SettingsError(AipError):
    """A workflow or ruleset file this model is computed from is unreadable or malformed."""


def _kubernetes(env: Environment) -> bool:
    return env.kubernetes_namespace is not None


def _not_kubernetes(env: Environment) -> bool:
    return env.kubernetes_namespace is None


@dataclass(frozen=True)
class Need:
    """What the workflow text cannot say about one variable or secret (docs/gitops.md has the prose)."""

    purpose: str
    """What it is, in a few words (printed by `aip init` and `aip doctor`)."""
    optional: bool = False
    """True when CI falls back to something sensible without it (the table's "without it" column)."""
    inherit: bool = False
    """True when one repository-level value may serve every environment (same value everywhere)."""
    applies: Callable[[Environment], bool] | None = None
    """For environment settings: whether platform.yaml's environment needs it at all."""
    value: Callable[[PlatformConfig], str] | None = None
    """For variables: the value it must have, when platform.yaml decides it."""


NEEDS: dict[str, Need] = {
    "AIP_GPU_RUNNERS": Need(
        "`true` once the runner scale sets platform.yaml names exist", value=lambda p: "true"
    ),
    "AWS_ROLE_ARN": Need("the OIDC role of this GitHub environment (infra/ outputs)"),
    "AWS_REGION": Need("the cloud region", inherit=True, value=lambda p: p.organisation.region),
    "AWS_PLAN_ROLE_ARN": Need("bootstrap's read-only plan role (pull requests only)"),
    "EKS_CLUSTER": Need("the environment's cluster name", applies=_kubernetes),
    "AIP_TRACKING_URI": Need(
        "the shared MLflow server (else platform.yaml's tracking_uri)", optional=True, inherit=True
    ),
    "AIP_PROMETHEUS_URL": Need("the Prometheus the canary analysis reads", applies=_kubernetes),
    "AIP_SAMPLE_SINK": Need("where the servers write prediction samples (s3://.../samples/<E>)"),
    "AIP_CHAMPION_ENV": Need("the environment PR smoke runs compare with, e.g. prod", optional=True),
    "GRAFANA_FOLDER_UID": Need("the Grafana folder of the dashboards", optional=True),
    "GRAFANA_URL": Need("Grafana to publish dashboards to", optional=True),
    "GRAFANA_TOKEN": Need("Grafana service-account token (dashboards:write)", optional=True),
    "MLFLOW_TRACKING_USERNAME": Need("the environment's registry deploy user aip-deploy-<E> (ADR 0019)"),
    "MLFLOW_TRACKING_PASSWORD": Need("the password of MLFLOW_TRACKING_USERNAME"),
    "MLFLOW_READONLY_USERNAME": Need("a registry user with READ only (PR code runs with it)", inherit=True),
    "MLFLOW_READONLY_PASSWORD": Need("the password of MLFLOW_READONLY_USERNAME", inherit=True),
    "AIP_ADMIN_TOKEN": Need("the model server's admin API token", applies=_not_kubernetes),
    "AIP_TEMPLATE_UPSTREAM": Need(
        "the template repository to update from (else platform.yaml's upstream)", optional=True
    ),
    "AIP_DATA_SOURCES": Need("JSON {dataset: url} of the live data sources (docs/continuous-training.md)"),
    "AIP_SOURCE_TOKEN": Need("the bearer token an HTTP data source wants", optional=True),
    "AIP_STUDY_STORAGE_PASSWORD": Need(
        "the Optuna study database's password (infra output study_store_secret_arn; docs/tuning-infra.md)"
    ),
    "AIP_REDIS_PASSWORD": Need(
        "the Feast online store's AUTH token (infra output feature_store_auth_secret_arn)"
    ),
    "PROMOTION_TOKEN": Need(
        "GitHub App / fine-grained token, pull-requests: write (+ contents: write)", inherit=True
    ),
}
# Repository-level copies that only serve a fallback: without them the job still runs (notice).
_OPTIONAL_AT_REPOSITORY = {"MLFLOW_READONLY_USERNAME", "MLFLOW_READONLY_PASSWORD", "AIP_TRACKING_URI"}


@dataclass(frozen=True)
class SettingNeed:
    """One variable or secret a fork sets, in one scope (the repository or a GitHub environment)."""

    name: str
    kind: Kind
    scope: str
    """`repository` or the GitHub environment's name (`prod`, `prod-monitoring`, `infra-prod`)."""
    purpose: str
    optional: bool
    inherit: bool
    value: str | None
    workflows: tuple[str, ...]


@dataclass(frozen=True)
class EnvironmentNeed:
    """One GitHub environment: who may deploy to it (branches) and who must approve."""

    name: str
    platform_environment: str
    """The platform environment it belongs to; "" for one fixed environment (e.g. `data`)."""
    branches: tuple[str, ...]
    """Deployment branch policy: the only branches whose jobs may use it."""
    reviewers: bool
    """Required reviewers (platform.yaml `requires_approval: true`); False means none may be set."""
    runner: str | None
    """The ARC runner scale set its deploy jobs run on (platform.yaml `runner`), if any."""
    pattern: str
    """The workflows' name for it, `{E}`, `{E}-monitoring`, `infra-{E}`, or a fixed name."""


@dataclass(frozen=True)
class Ruleset:
    """A committed ruleset: the body of GitHub's "Create a repository ruleset" request."""

    file: str
    body: dict[str, Any]
    optional: bool

    @property
    def name(self) -> str:
        return str(self.body["name"])


@dataclass(frozen=True)
class ForkSettings:
    repository: str
    environments: list[EnvironmentNeed]
    settings: list[SettingNeed]
    rulesets: list[Ruleset]
    branches: list[str]
    """Environment branches that must exist (`env/<E>`), created from main."""
    runners: dict[str, str] = field(default_factory=dict)
    """ARC runner scale set -> the platform environment that names it."""
    reviewer_team: str | None = None
    """GitHub team slug that approves deploys where `requires_approval` (platform.yaml teams.platform)."""
    workflow_permissions: dict[str, Any] = field(
        default_factory=lambda: {
            "default_workflow_permissions": "read",
            "can_approve_pull_request_reviews": True,
        }
    )
    """"Allow GitHub Actions to create and approve pull requests" (promotion PRs with the default token)
    and a read-only default token (every workflow asks for what it needs)."""

    def environment(self, name: str) -> EnvironmentNeed:
        return next(env for env in self.environments if env.name == name)

    def in_scope(self, scope: str) -> list[SettingNeed]:
        return [s for s in self.settings if s.scope == scope]


def _default_root() -> Path:
    from pipelines.repo.layout import RepoNotFound, find_root

    try:
        return find_root()
    except RepoNotFound:
        return _PACKAGE_ROOT


def _pattern(environment: Any) -> str | None:
    """`${{ needs.plan.outputs.environment }}-monitoring` -> `{E}-monitoring` (None: no environment)."""
    if isinstance(environment, dict):
        environment = environment.get("name")
    if not environment:
        return None
    return _EXPR.sub("{E}", str(environment))


def workflow_settings(workflows: Path) -> tuple[dict[tuple[str, str, str], set[str]], dict[str, bool]]:
    """(vars|secrets, NAME, scope pattern) -> the workflow files that read it, and every job
    environment's pattern. A scope pattern is the job's environment (`{E}`, `{E}-monitoring`,
    `infra-{E}`) or `repository`."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    found: dict[tuple[str, str, str], set[str]] = {}
    patterns: dict[str, bool] = {}
    files = sorted(workflows.glob("*.y*ml"))
    if not files:
        raise SettingsError(f"no workflows in {workflows}")
    for path in files:
        try:
            data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        except YAMLError as exc:
            raise SettingsError(f"{path}: not YAML: {exc}") from None
        on = (data or {}).get("on") or {}
        push = on.get("push") if isinstance(on, dict) else None
        from_env_branch = any(str(b).startswith("env/") for b in (push or {}).get("branches") or [])
        for job in (data or {}).get("jobs", {}).values():
            pattern = _pattern(job.get("environment"))
            if pattern:
                patterns[pattern] = patterns.get(pattern, False) or from_env_branch
            scope = pattern or REPOSITORY
            text = json.dumps(job)
            for kind, name in _USE.findall(text):
                if (kind, name) != ("secrets", "GITHUB_TOKEN"):  # GitHub provides it
                    found.setdefault((kind, name, scope), set()).add(path.name)
    return found, patterns


def load_rulesets(folder: Path) -> list[Ruleset]:
    """The committed rulesets: folder/*.json (required) and folder/optional/*.json."""
    rulesets = []
    for optional, files in (
        (False, sorted(folder.glob("*.json"))),
        (True, sorted(folder.glob("optional/*.json"))),
    ):
        for path in files:
            try:
                body = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise SettingsError(f"{path}: not JSON: {exc}") from None
            missing = [
                key for key in ("name", "target", "enforcement", "conditions", "rules") if key not in body
            ]
            if missing:
                raise SettingsError(f"{path}: a ruleset needs {', '.join(missing)} (GitHub's request body)")
            rulesets.append(Ruleset(str(path.relative_to(folder.parent.parent)), body, optional))
    return rulesets


def _team(platform: PlatformConfig, key: str) -> str | None:
    """platform.yaml `organisation.teams.<key>`, when this platform.yaml has teams."""
    teams = getattr(platform.organisation, "teams", None)
    if teams is None:
        return None
    value = teams.get(key) if isinstance(teams, dict) else getattr(teams, key, None)
    return str(value) if value else None


def fork_settings(platform: PlatformConfig, root: Path | None = None) -> ForkSettings:
    """Every GitHub setting the fork of `platform` needs (`root`: the checkout with .github/)."""
    root = root or _default_root()
    used, found = workflow_settings(root / ".github" / "workflows")
    found.setdefault("{E}", True)
    order = sorted(found, key=lambda p: (p != "{E}", p.startswith("infra"), p))
    per_environment = [(e, p) for e in platform.promotion_order for p in order if "{E}" in p]
    fixed = [("", p) for p in order if "{E}" not in p]
    environments: list[EnvironmentNeed] = []
    for env_name, pattern in per_environment + fixed:
        env = platform.environments.get(env_name)
        # Jobs that a push to env/<E> starts deploy from that branch only; scheduled and dispatched ones
        # (drift, ingestion) start on the default branch and must never wait for a reviewer.
        deploys = found[pattern] and env is not None
        environments.append(
            EnvironmentNeed(
                name=pattern.replace("{E}", env_name),
                platform_environment=env_name,
                branches=(f"env/{env_name}",) if deploys else ("main",),
                reviewers=bool(env and env.requires_approval and deploys),
                runner=env.runner if env and pattern == "{E}" else None,
                pattern=pattern,
            )
        )
    settings: list[SettingNeed] = []
    for (kind_word, name, pattern), workflows in sorted(used.items()):
        # A name NEEDS lacks is still checked (required); tests/fork/test_settings.py fails until it is
        # described there and in docs/gitops.md's table.
        need = NEEDS.get(name) or Need(f"read by {', '.join(sorted(workflows))} (docs/gitops.md)")
        kind: Kind = "variable" if kind_word == "vars" else "secret"
        value = need.value(platform) if need.value and kind == "variable" else None
        if pattern == REPOSITORY:
            optional = need.optional or name in _OPTIONAL_AT_REPOSITORY
            settings.append(
                SettingNeed(
                    name, kind, REPOSITORY, need.purpose, optional, False, value, tuple(sorted(workflows))
                )
            )
            continue
        for github_env in environments:
            if github_env.pattern != pattern:
                continue
            target = platform.environments.get(github_env.platform_environment)
            if need.applies and target is not None and not need.applies(target):
                continue
            settings.append(
                SettingNeed(
                    name,
                    kind,
                    github_env.name,
                    need.purpose,
                    need.optional,
                    need.inherit,
                    value,
                    tuple(sorted(workflows)),
                )
            )
    runners = {
        env.runner: name
        for name, env in platform.environments.items()
        if env.runner and name in platform.promotion_order
    }
    return ForkSettings(
        repository=platform.organisation.repository,
        environments=environments,
        settings=settings,
        rulesets=load_rulesets(root / ".github" / "rulesets"),
        branches=[f"env/{name}" for name in platform.promotion_order],
        runners=runners,
        reviewer_team=_team(platform, "platform"),
    )


def render_settings(platform: PlatformConfig, root: Path | None = None) -> str:
    """The settings as a markdown checklist, to make by hand or with `aip doctor --apply`."""
    s = fork_settings(platform, root)
    slug = s.repository
    reviewers = f"the team `{s.reviewer_team}`" if s.reviewer_team else "your platform team"
    lines = [
        f"GitHub settings for {slug} (`aip doctor` checks them; `aip doctor --apply` creates those marked *)",
        "",
        "Environments (Settings → Environments):",
    ]
    for env in s.environments:
        rule = f"deployment branches: {', '.join(env.branches)} only"
        approval = f"; required reviewers: {reviewers}" if env.reviewers else "; no reviewers"
        lines.append(f"- [ ] `{env.name}`* ({rule}{approval})")
    lines += ["", "Variables and secrets (names; the values are yours):"]
    shared = {
        n.name for n in s.in_scope(REPOSITORY) if n.name in NEEDS and NEEDS[n.name].inherit and not n.optional
    }
    for scope in [REPOSITORY] + [env.name for env in s.environments]:
        where = "repository" if scope == REPOSITORY else f"`{scope}`"
        for kind in ("variable", "secret"):
            needs = [n for n in s.in_scope(scope) if n.kind == kind and not (n.inherit and n.name in shared)]
            if not needs:
                continue
            required = [f"{n.name}={n.value}" if n.value else n.name for n in needs if not n.optional]
            optional = [n.name for n in needs if n.optional]
            text = ", ".join(required) + ("; optional: " + ", ".join(optional) if optional else "")
            lines.append(f"- [ ] {where} {kind}s: {text.lstrip('; ')}")
    if shared:
        lines.append(f"  ({', '.join(sorted(shared))}: the repository's value serves every environment)")
    lines += ["", 'What each one is (docs/gitops.md, "What a fork must set"):']
    for name, purpose in sorted({n.name: n.purpose for n in s.settings}.items()):
        lines.append(f"  {name}: {purpose}")
    lines += ["", "Rulesets (Settings → Rules; .github/rulesets/):"]
    for ruleset in s.rulesets:
        mark = " (optional)" if ruleset.optional else "*"
        include = ", ".join(ruleset.body["conditions"]["ref_name"]["include"])
        lines.append(f"- [ ] `{ruleset.name}`{mark} on {include}: {ruleset.file}")
    lines += [
        "",
        "Repository:",
        "- [ ] Actions → General → Workflow permissions: read; *Allow GitHub Actions to create and approve "
        "pull requests*",
        "- [ ] General → Pull requests: allow merge commits (env/* branches are merged, never squashed)",
    ]
    lines += [f"- [ ] branch `{branch}`* (from main)" for branch in s.branches]
    for runner, env_name in s.runners.items():
        lines.append(
            f"- [ ] runner scale set `{runner}` ({env_name}) registered, "
            "in a runner group this repository may use"
        )
    return "\n".join(lines) + "\n"
