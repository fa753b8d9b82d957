"""The Backstage entities of the repository: what `aip catalog build` writes to catalog/*.yaml.

Everything comes from files in the checkout, never from a registry or the clock, so the output is a
pure function of the commit (`aip catalog build --check` compares it with what is committed):

- Groups: the organisation (`organisation.repository`'s owner) and its teams (`organisation.teams`),
  plus any other team a model.yaml or prompt.yaml names as `owner`;
- a System: the platform itself (named after the repository), owned by the platform team;
- Components: every model (models/*) and prompt (prompts/*), each providing an API;
- APIs: each one's serving endpoint, with the OpenAPI document the server serves (pipelines/serving);
- Resources: datasets (with their licence), vector indexes of documents datasets, dashboards and the
  Terraform roots (infra/envs/*).

Entity references are written `kind:name` (the default namespace). Reference: the Backstage
descriptor format, https://backstage.io/docs/features/software-catalog/descriptor-format
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.config import load_prompt
from pipelines.errors import AipError
from pipelines.repo.layout import Repo

__all__ = [
    "API_VERSION",
    "CatalogError",
    "Entity",
    "alert_runbooks",
    "catalog_entities",
    "dashboard_variables",
    "dashboards_of",
    "entity_ref",
    "owner_group",
]

API_VERSION = "backstage.io/v1alpha1"
BRANCH = "main"  # the default branch: GitHub links (source-location, runbooks) point at it
# Backstage entity names: letters, digits and single [-_.] between them, at most 63 characters.
_NAME = re.compile(r"^[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*$")
# Alert expressions that mention one of these concern models resp. prompts (dashboards/alerts/).
# A dashboard or alert whose JSON or expression mentions one of these concerns every model resp.
# prompt (dashboards/, dashboards/alerts/): `aip drift` and `aip run` label prompts `model` too.
_MARKERS = {
    "model": ("model", "aip_serving", "aip:serving"),
    "prompt": ("prompt", "aip_llm", "aip_drift", "aip_pipeline"),
}


class CatalogError(AipError):
    """The repository cannot be described as a catalogue (a bad owner, a name Backstage refuses)."""


Entity = dict[str, Any]


def entity_ref(kind: str, name: str) -> str:
    """`kind:name` in the default namespace, the form Backstage resolves relations from."""
    return f"{kind.lower()}:{name}"


@dataclass(frozen=True)
class _Context:
    repo: Repo
    slug: str  # owner/name on GitHub
    system: str

    def blob(self, path: str) -> str:
        return f"https://github.com/{self.slug}/blob/{BRANCH}/{path}"

    def tree(self, path: str) -> str:
        return f"https://github.com/{self.slug}/tree/{BRANCH}/{path}"

    def annotations(self, source: str | None = None) -> dict[str, str]:
        notes = {"github.com/project-slug": self.slug}
        if source is not None:
            notes["backstage.io/source-location"] = "url:" + self.tree(source)
        return notes


def owner_group(repo: Repo, owner: str, where: str) -> str:
    """The Group name of an owner as model.yaml/prompt.yaml write it: a team key (`ml`), a team slug
    (`ml-engineers`) or a handle (`@org/ml-engineers`); `where` names the file for the error."""
    handle = repo.platform.organisation.team_handle(owner.strip())
    match = re.fullmatch(r"@([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)", handle)
    if match is None or not _NAME.match(match.group(2)):
        raise CatalogError(
            f"{where}: owner '{owner}' is not a team: expected a team key of platform.yaml "
            f"organisation.teams ({', '.join(_team_keys(repo))}), a team slug or '@org/team'"
        )
    return match.group(2)


def _team_keys(repo: Repo) -> list[str]:
    return list(repo.platform.organisation.teams.model_dump())


def _team(repo: Repo, key: str) -> str:
    return str(getattr(repo.platform.organisation.teams, key))


def _check_name(kind: str, name: str, where: str) -> str:
    if len(name) > 63 or not _NAME.match(name):
        raise CatalogError(
            f"{where}: '{name}' cannot name a Backstage {kind}: at most 63 letters, digits and single "
            "'-', '_' or '.' between them"
        )
    return name


def _entity(
    kind: str,
    name: str,
    spec: dict[str, Any],
    *,
    description: str | None = None,
    annotations: dict[str, str] | None = None,
    tags: list[str] | None = None,
    links: list[dict[str, str]] | None = None,
    title: str | None = None,
) -> Entity:
    metadata: dict[str, Any] = {"name": name}
    if title:
        metadata["title"] = title
    if description:
        metadata["description"] = description
    if annotations:
        metadata["annotations"] = dict(sorted(annotations.items()))
    if tags:
        metadata["tags"] = sorted(set(tags))
    if links:
        metadata["links"] = links
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


# ---- what belongs to a model or prompt ---------------------------------------------------
def dashboard_variables(repo: Repo) -> dict[str, list[str]]:
    """Each dashboard's template variables (rendered JSON), without the datasource."""
    import json

    found: dict[str, list[str]] = {}
    for name in repo.dashboard_names():
        rendered = repo.root / "dashboards" / "rendered" / f"{name}.json"
        data = json.loads(rendered.read_text(encoding="utf-8")) if rendered.is_file() else {}
        variables = data.get("templating", {}).get("list", [])
        found[name] = sorted(v["name"] for v in variables if v["name"] != "datasource")
    return found


def dashboards_of(repo: Repo, kind: str) -> list[str]:
    """The dashboards that show every `kind` ("model" or "prompt"): those with a `model` (`prompt`)
    variable, and for prompts also those reading the drift and pipeline metrics."""
    found = []
    for name, variables in dashboard_variables(repo).items():
        rendered = repo.root / "dashboards" / "rendered" / f"{name}.json"
        text = rendered.read_text(encoding="utf-8") if rendered.is_file() else ""
        if kind in variables or (kind == "prompt" and any(m in text for m in _MARKERS["prompt"][2:])):
            found.append(name)
    return found


def alert_runbooks(repo: Repo) -> dict[str, dict[str, str]]:
    """`{"model": {alert: runbook path}, "prompt": {...}}` from dashboards/alerts/*.rules.yml: an alert
    whose expression mentions a model (or prompt) label or metric concerns every model (or prompt)."""
    import yaml

    found: dict[str, dict[str, str]] = {kind: {} for kind in _MARKERS}
    for path in sorted((repo.root / "dashboards" / "alerts").glob("*.rules.y*ml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group in data.get("groups") or []:
            for rule in group.get("rules") or []:
                url = str((rule.get("annotations") or {}).get("runbook_url", ""))
                if "alert" not in rule or "docs/runbooks/" not in url:
                    continue
                runbook = "docs/runbooks/" + url.split("docs/runbooks/", 1)[1]
                expr = str(rule.get("expr", ""))
                for kind, markers in _MARKERS.items():
                    if any(marker in expr for marker in markers):
                        found[kind][str(rule["alert"])] = runbook
    return found


def _runbook_links(ctx: _Context, runbooks: dict[str, str]) -> list[dict[str, str]]:
    by_page: dict[str, list[str]] = {}
    for alert, page in sorted(runbooks.items()):
        by_page.setdefault(page, []).append(alert)
    return [
        {"url": ctx.blob(page), "title": f"Runbook: {Path(page).stem} ({', '.join(alerts)})", "icon": "help"}
        for page, alerts in sorted(by_page.items())
    ]


def _dashboard_links(ctx: _Context, names: list[str]) -> list[dict[str, str]]:
    return [
        {
            "url": ctx.blob(f"dashboards/{name}.dashboard.py"),
            "title": f"Dashboard: {name}",
            "icon": "dashboard",
        }
        for name in names
    ]


# ---- the entities ------------------------------------------------------------------------
def catalog_entities(repo: Repo) -> list[Entity]:
    """Every entity, in a stable order: kind, then name."""
    from pipelines.serving import openapi_document

    org = repo.platform.organisation
    slug = org.repository
    ctx = _Context(
        repo, slug, _check_name("System", slug.split("/", 1)[1], "platform.yaml organisation.repository")
    )
    platform_team = _team(repo, "platform")
    runbooks = alert_runbooks(repo)
    entities: list[Entity] = []
    owners: set[str] = set()

    entities.append(
        _entity(
            "System",
            ctx.system,
            {"owner": entity_ref("Group", platform_team)},
            description=f"The AI platform of {org.name}: models, prompts, their data, serving APIs, "
            "dashboards and infrastructure, from one repository.",
            # No techdocs-ref: docs/ is plain markdown for GitHub, not a TechDocs (mkdocs) site.
            annotations=ctx.annotations(""),
            links=[{"url": ctx.blob("README.md"), "title": "README", "icon": "docs"}],
        )
    )

    # models and their APIs
    for name in repo.model_names():
        where = f"models/{name}/model.yaml"
        model = repo.model(name)
        team = owner_group(repo, model.owner, where)
        owners.add(team)
        api = f"{_check_name('Component', name, where)}-api"
        dashboards = dashboards_of(repo, "model")
        entities.append(
            _entity(
                "Component",
                name,
                {
                    "type": "ml-model",
                    "lifecycle": "production" if "prod" in model.environments else "experimental",
                    "owner": entity_ref("Group", team),
                    "system": entity_ref("System", ctx.system),
                    "providesApis": [entity_ref("API", api)],
                    "dependsOn": [entity_ref("Resource", f"dataset-{model.dataset}")],
                },
                description=model.description,
                annotations=ctx.annotations(f"models/{name}/"),
                tags=["ml-model", model.task],
                links=[
                    {"url": ctx.blob(f"models/{name}/README.md"), "title": "Model card", "icon": "docs"},
                    *_dashboard_links(ctx, dashboards),
                    *_runbook_links(ctx, runbooks["model"]),
                ],
            )
        )
        entities.append(_api(ctx, api, team, name, openapi_document(models=[name]), "model"))

    # prompts, their APIs and indexes
    indexes: dict[str, str] = {}  # index resource -> owner team
    for name in repo.prompt_names():
        where = f"prompts/{name}/prompt.yaml"
        prompt = load_prompt(repo.prompt_dir(name) / "prompt.yaml")
        team = owner_group(repo, prompt.owner, where)
        owners.add(team)
        api = f"{_check_name('Component', name, where)}-api"
        dataset = prompt.retrieval.dataset
        depends = [entity_ref("Resource", f"dataset-{dataset}")]
        if repo.dataset(dataset).index is not None:
            depends.append(entity_ref("Resource", f"index-{dataset}"))
            indexes.setdefault(f"index-{dataset}", team)
        dashboards = dashboards_of(repo, "prompt")
        entities.append(
            _entity(
                "Component",
                name,
                {
                    "type": "prompt",
                    "lifecycle": "production",
                    "owner": entity_ref("Group", team),
                    "system": entity_ref("System", ctx.system),
                    "providesApis": [entity_ref("API", api)],
                    "dependsOn": sorted(depends),
                },
                description=prompt.description,
                annotations=ctx.annotations(f"prompts/{name}/"),
                tags=["prompt", prompt.kind],
                links=[
                    {"url": ctx.blob(f"prompts/{name}/prompt.yaml"), "title": "Prompt", "icon": "docs"},
                    *_dashboard_links(ctx, dashboards),
                    *_runbook_links(ctx, runbooks["prompt"]),
                ],
            )
        )
        entities.append(_api(ctx, api, team, name, openapi_document(prompts=[name]), "prompt"))

    # datasets and indexes
    data_team = _team(repo, "data")
    for name in repo.dataset_names():
        config = repo.dataset(name)
        entities.append(
            _entity(
                "Resource",
                _check_name("Resource", f"dataset-{name}", f"datasets/{name}/dataset.yaml"),
                {
                    "type": "dataset",
                    "owner": entity_ref("Group", data_team),
                    "system": entity_ref("System", ctx.system),
                },
                title=name,
                description=f"{config.description} Licence: {config.license}. Source: {config.source}.",
                annotations={**ctx.annotations(f"datasets/{name}/"), "aip/license": config.license},
                tags=["dataset", config.kind],
                links=[
                    {"url": ctx.blob(f"datasets/{name}/README.md"), "title": "Data card", "icon": "docs"},
                    {"url": ctx.blob(f"datasets/{name}/LICENSE"), "title": f"Licence ({config.license})"},
                ],
            )
        )
        if config.index is not None:
            index = f"index-{name}"
            entities.append(
                _entity(
                    "Resource",
                    index,
                    {
                        "type": "vector-index",
                        "owner": entity_ref("Group", indexes.get(index, data_team)),
                        "system": entity_ref("System", ctx.system),
                        "dependsOn": [entity_ref("Resource", f"dataset-{name}")],
                    },
                    title=f"{name} index",
                    description=f"Vector index of {name} ({config.index.embedding_model} embeddings), "
                    "versioned with the dataset by DVC (FAISS locally, Milvus on the cluster).",
                    annotations=ctx.annotations(f"datasets/{name}/"),
                    tags=["vector-index"],
                )
            )

    # dashboards
    sre_team = _team(repo, "sre")
    for name in repo.dashboard_names():
        entities.append(
            _entity(
                "Resource",
                _check_name("Resource", f"dashboard-{name}", f"dashboards/{name}.dashboard.py"),
                {
                    "type": "grafana-dashboard",
                    "owner": entity_ref("Group", sre_team),
                    "system": entity_ref("System", ctx.system),
                },
                title=f"{name} dashboard",
                description=f"Grafana dashboard as code: dashboards/{name}.dashboard.py, rendered to "
                f"dashboards/rendered/{name}.json.",
                annotations=ctx.annotations("dashboards/"),
                tags=["dashboard"],
                links=[
                    {
                        "url": ctx.blob(f"dashboards/{name}.dashboard.py"),
                        "title": "Code",
                        "icon": "dashboard",
                    },
                    {"url": ctx.blob(f"dashboards/rendered/{name}.json"), "title": "Rendered JSON"},
                ],
            )
        )

    # infrastructure roots
    for root in repo.infra_roots():
        name = "infra-" + Path(root).name
        entities.append(
            _entity(
                "Resource",
                _check_name("Resource", name, root),
                {
                    "type": "terraform-root",
                    "owner": entity_ref("Group", platform_team),
                    "system": entity_ref("System", ctx.system),
                },
                title=root,
                description=f"Terraform root {root}, applied on its own (docs/gitops.md).",
                annotations=ctx.annotations(f"{root}/"),
                tags=["terraform"],
            )
        )

    entities.extend(_groups(repo, owners))
    order = {"Group": 0, "System": 1, "Component": 2, "API": 3, "Resource": 4}
    return sorted(entities, key=lambda e: (order[e["kind"]], e["metadata"]["name"]))


def _api(ctx: _Context, name: str, team: str, served: str, document: dict[str, Any], kind: str) -> Entity:
    import yaml

    what = (
        "predict and classify (TensorFlow Serving REST)" if kind == "model" else "chat completions (OpenAI)"
    )
    return _entity(
        "API",
        name,
        {
            "type": "openapi",
            "lifecycle": "production",
            "owner": entity_ref("Group", team),
            "system": entity_ref("System", ctx.system),
            "definition": yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100),
        },
        description=f"{served} on `aip serve`: {what}, the admin API and health checks (docs/serving.md).",
        annotations=ctx.annotations("pipelines/serving/"),
        tags=["rest", "openapi"],
        links=[{"url": ctx.blob("docs/serving.md"), "title": "Serving", "icon": "docs"}],
    )


def _groups(repo: Repo, owners: set[str]) -> list[Entity]:
    org = repo.platform.organisation
    teams = {_team(repo, key): key for key in _team_keys(repo)}
    names = sorted(set(teams) | owners)
    owner = _check_name("Group", org.github_owner, "platform.yaml organisation.repository")
    groups = [
        _entity(
            "Group",
            owner,
            {
                "type": "organization",
                "profile": {"displayName": org.name},
                "children": [entity_ref("Group", n) for n in names],
            },
            description=f"The GitHub organisation {org.github_owner}.",
        )
    ]
    for name in names:
        role = (
            f"the {teams[name]} team of platform.yaml organisation.teams"
            if name in teams
            else "owner named by a model or prompt"
        )
        groups.append(
            _entity(
                "Group",
                _check_name("Group", name, "platform.yaml organisation.teams"),
                {
                    "type": "team",
                    "profile": {"displayName": f"@{org.github_owner}/{name}"},
                    "parent": entity_ref("Group", owner),
                    "children": [],
                },
                description=f"GitHub team @{org.github_owner}/{name}: {role}.",
            )
        )
    return groups
