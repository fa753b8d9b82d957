"""The catalogue as one static HTML page: <state_dir>/catalog/index.html (not committed).

For each model and prompt: its owner, the version each environment's alias holds in that
environment's registry (with the data version and the metrics tagged on it), the model card, the
latest evaluation report under the state dir, its dashboards and the runbooks of its alerts. Then
the datasets, indexes, dashboards, infrastructure roots and owners. An environment whose registry
cannot be reached from here in `timeout` seconds says "not reachable" instead of guessing.

The page is self-contained: inline CSS, no script, no external font or stylesheet (it opens
offline), every text escaped. Repository files are linked relative to the page, so they open in the
checkout; each entry also links its folder on GitHub.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.catalog.entities import Entity
from pipelines.repo.layout import Repo

__all__ = ["EnvVersion", "registry_versions", "render_page"]

REACHABILITY_TIMEOUT_S = 3.0  # a healthy MLflow answers /health in milliseconds; a page must not hang


@dataclass(frozen=True)
class EnvVersion:
    """What one environment's registry says about one model or prompt."""

    env: str
    status: str  # "registered", "not registered", "no registry", "not reachable", "error"
    version: str = ""
    data_version: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    detail: str = ""


class _Registry:
    """One tracking URI's registry (dev, staging and prod usually share one): opened once."""

    def __init__(self, uri: str, timeout: float) -> None:
        self.uri, self.client, self.problem = uri, None, ("", "")
        try:
            self.client = self._open(timeout)
        except Exception as exc:  # a registry that fails is reported on the page, never fatal
            self.problem = ("error", _first_line(exc))

    def _open(self, timeout: float) -> Any:
        from pipelines.http import HttpError, Unreachable, request

        if self.uri.startswith("sqlite:///"):
            if not Path(self.uri.removeprefix("sqlite:///")).is_file():
                self.problem = ("no registry", "nothing registered on this machine yet (`aip run`)")
                return None
        elif self.uri.startswith(("http://", "https://")):
            try:
                request("GET", self.uri.rstrip("/") + "/health", timeout=timeout)
            except (HttpError, Unreachable) as exc:
                self.problem = ("not reachable", _first_line(exc))
                return None
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
            os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(max(timeout, 1))))
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def registry_versions(
    repo: Repo, envs: Iterable[str], timeout: float = REACHABILITY_TIMEOUT_S
) -> dict[str, list[EnvVersion]]:
    """`{model or prompt: [EnvVersion per env]}` from each environment's own tracking URI."""
    from functools import partial

    from pipelines.offline import apply_offline_env

    apply_offline_env()
    registries: dict[str, _Registry] = {}
    found: dict[str, list[EnvVersion]] = {n: [] for n in [*repo.model_names(), *repo.prompt_names()]}
    for env in envs:
        _, settings = repo.environment(env)
        uri = repo.resolve(settings.tracking_uri)
        registry = registries.get(uri) or registries.setdefault(uri, _Registry(uri, timeout))
        for name in repo.model_names():
            dataset = repo.model(name).dataset
            found[name].append(_version(registry, env, partial(_model, name=name, env=env, dataset=dataset)))
        for name in repo.prompt_names():
            found[name].append(_version(registry, env, partial(_prompt, name=name, env=env)))
    return found


def _version(registry: _Registry, env: str, read: Callable[[Any], EnvVersion]) -> EnvVersion:
    if registry.client is None:
        return EnvVersion(env, registry.problem[0], detail=registry.problem[1])
    try:
        return read(registry.client)
    except Exception as exc:  # e.g. a server that answers /health but fails the query
        return EnvVersion(env, "error", detail=_first_line(exc))


def _model(client: Any, name: str, env: str, dataset: str) -> EnvVersion:
    from pipelines.registry.store import Registry

    version = Registry(client).alias_version(name, env)
    if version is None:
        return EnvVersion(env, "not registered", detail=f"no version holds alias '{env}'")
    tags = dict(version.tags or {})
    metrics = {
        k.removeprefix("aip.metric.").removeprefix("test_"): float(v)
        for k, v in tags.items()
        if k.startswith("aip.metric.")
    }
    return EnvVersion(env, "registered", str(version.version), tags.get(f"aip.data.{dataset}", ""), metrics)


def _prompt(client: Any, name: str, env: str) -> EnvVersion:
    from pipelines.prompts.registry import alias_version

    found = alias_version(client, name, env)
    if found is None:
        return EnvVersion(env, "not registered", detail=f"no version holds alias '{env}'")
    return EnvVersion(env, "registered", found.version, found.index_version, dict(found.metrics))


# ---- HTML ----------------------------------------------------------------------------------
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;
background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c9cfdb}main{padding:16px 32px;max-width:1200px}
nav a{margin-right:14px}a{color:#1f5fbf}h2{margin:28px 0 8px;font-size:19px}
.card{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:14px 18px;margin:12px 0}
.card h3{margin:0 0 4px;font-size:17px}.kind{font-size:12px;color:#fff;background:#5a6478;border-radius:3px;
padding:1px 6px;margin-left:8px;vertical-align:2px}.muted{color:#5a6478}
table{border-collapse:collapse;margin:8px 0;width:100%}th,td{border-bottom:1px solid #e5e8ee;padding:4px 8px;
text-align:left;vertical-align:top;font-size:14px}th{background:#eef0f4}
.registered{color:#17702f;font-weight:600}.not-reachable,.error{color:#a33}.no-registry,.not-registered{color:#8a6d00}
dl.links{display:grid;grid-template-columns:90px 1fr;margin:8px 0 0;gap:3px 8px;font-size:14px}
dl.links dt{color:#5a6478}dl.links dd{margin:0}code{font-size:13px}
"""


def _css_class(row: EnvVersion) -> str:
    return row.status.replace(" ", "-")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


class _Links:
    """Links from the page: repository files relative to it, GitHub folders by URL."""

    def __init__(self, repo: Repo, page_dir: Path, slug: str) -> None:
        self.repo, self.page_dir, self.slug = repo, page_dir, slug

    def file(self, path: Path, text: str) -> str:
        href = Path(os.path.relpath(path.resolve(), self.page_dir.resolve())).as_posix()
        return f'<a href="{_e(href)}">{_e(text)}</a>'

    def repo_file(self, rel: str, text: str) -> str:
        return self.file(self.repo.root / rel, text)

    def github(self, rel: str, text: str = "on GitHub") -> str:
        return f'<a href="https://github.com/{_e(self.slug)}/tree/main/{_e(rel)}">{_e(text)}</a>'


def _versions_table(rows: list[EnvVersion]) -> str:
    out = [
        "<table><tr><th>environment</th><th>version</th><th>data / index version</th><th>metrics</th></tr>"
    ]
    for row in rows:
        cls = _css_class(row)
        version = f"v{_e(row.version)}" if row.version else _e(row.status)
        if row.detail:
            version += f' <span class="muted">({_e(row.detail)})</span>'
        metrics = ", ".join(f"{_e(k)} {v:.3f}" for k, v in sorted(row.metrics.items()))
        out.append(
            f'<tr><td>{_e(row.env)}</td><td class="{_e(cls)}">{version}</td>'
            f"<td><code>{_e(row.data_version[:12])}</code></td><td>{metrics}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _owner(entity: Entity) -> str:
    return str(entity["spec"].get("owner", "")).removeprefix("group:")


def render_page(
    repo: Repo, entities: list[Entity], versions: dict[str, list[EnvVersion]], page_dir: Path
) -> str:
    """The page's HTML; `page_dir` is where it will be written (links are relative to it)."""
    from pipelines.catalog.entities import alert_runbooks, dashboard_variables, dashboards_of

    org = repo.platform.organisation
    links = _Links(repo, page_dir, org.repository)
    runbooks = alert_runbooks(repo)
    variables = dashboard_variables(repo)
    by_kind: dict[str, list[Entity]] = {}
    for entity in entities:
        by_kind.setdefault(entity["kind"], []).append(entity)
    owners = {e["metadata"]["name"]: e for e in by_kind.get("Group", [])}
    body: list[str] = []

    components = sorted(
        by_kind.get("Component", []), key=lambda e: (e["spec"]["type"] != "ml-model", e["metadata"]["name"])
    )
    env_names = list(dict.fromkeys(v.env for rows in versions.values() for v in rows))
    body.append('<h2 id="overview">Overview</h2><table><tr><th>name</th><th>kind</th><th>owner</th>')
    body.append("".join(f"<th>{_e(env)}</th>" for env in env_names) + "</tr>")
    for entity in components:
        name = entity["metadata"]["name"]
        kind = "model" if entity["spec"]["type"] == "ml-model" else "prompt"
        cells = "".join(
            f'<td class="{_e(_css_class(v))}">{_e(f"v{v.version}" if v.version else v.status)}</td>'
            for v in versions.get(name, [])
        )
        body.append(
            f'<tr><td><a href="#{_e(kind)}-{_e(name)}">{_e(name)}</a></td><td>{_e(kind)}</td>'
            f"<td>{_e(_handle(owners, _owner(entity)))}</td>{cells}</tr>"
        )
    body.append("</table>")

    body.append('<h2 id="components">Models and prompts</h2>')
    for entity in components:
        name = entity["metadata"]["name"]
        kind = "model" if entity["spec"]["type"] == "ml-model" else "prompt"
        folder = f"{'models' if kind == 'model' else 'prompts'}/{name}"
        docs = [
            links.repo_file(f"{folder}/README.md", "model card")
            if kind == "model"
            else links.repo_file(f"{folder}/prompt.yaml", "prompt.yaml")
        ]
        for env in repo.platform.environments:
            report_dir = repo.state_dir / "reports" / env / (name if kind == "model" else f"prompts/{name}")
            for report in ("report.html", "evaluation.md"):
                if (report_dir / report).is_file():
                    docs.append(links.file(report_dir / report, f"latest evaluation ({env})"))
        api = entity["spec"]["providesApis"][0].removeprefix("api:")
        docs += [links.repo_file("catalog/apis.yaml", f"{api} (OpenAPI)"), links.github(folder)]
        dashboards = [links.repo_file(f"dashboards/{d}.dashboard.py", d) for d in dashboards_of(repo, kind)]
        by_page: dict[str, list[str]] = {}
        for alert, page in sorted(runbooks[kind].items()):
            by_page.setdefault(page, []).append(alert)
        runbook_links = [
            f'<span title="{_e(", ".join(a))}">{links.repo_file(page, Path(page).stem)}</span>'
            for page, a in sorted(by_page.items())
        ]
        body.append(
            f'<section class="card" id="{_e(kind)}-{_e(name)}">'
            f'<h3>{_e(name)}<span class="kind">{_e(kind)}</span></h3>'
            f"<p>{_e(entity['metadata'].get('description', ''))}</p>"
            f"<p>Owner: <b>{_e(_handle(owners, _owner(entity)))}</b> · "
            f"lifecycle {_e(entity['spec']['lifecycle'])} · "
            f"depends on {_e(', '.join(entity['spec'].get('dependsOn', [])))}</p>"
            f"{_versions_table(versions.get(name, []))}"
            f'<dl class="links"><dt>docs</dt><dd>{" · ".join(docs)}</dd>'
            f"<dt>dashboards</dt><dd>{' · '.join(dashboards) or '-'}</dd>"
            f"<dt>runbooks</dt><dd>{' · '.join(runbook_links) or '-'}</dd></dl></section>"
        )

    resources = by_kind.get("Resource", [])
    body.append(
        '<h2 id="data">Datasets and indexes</h2><table><tr><th>name</th><th>type</th><th>owner</th>'
        "<th>licence</th><th>data version (dvc.lock)</th><th>links</th></tr>"
    )
    for entity in resources:
        if entity["spec"]["type"] not in ("dataset", "vector-index"):
            continue
        dataset = entity["metadata"]["name"].split("-", 1)[1]
        folder = f"datasets/{dataset}"
        row_links = [
            links.repo_file(f"{folder}/README.md", "data card"),
            links.repo_file(f"{folder}/LICENSE", "licence"),
            links.github(folder),
        ]
        body.append(
            f"<tr><td>{_e(entity['metadata']['name'])}</td><td>{_e(entity['spec']['type'])}</td>"
            f"<td>{_e(_handle(owners, _owner(entity)))}</td><td>{_e(repo.dataset(dataset).license)}</td>"
            f"<td><code>{_e(_data_version(repo, dataset)[:12])}</code></td>"
            f"<td>{' · '.join(row_links)}</td></tr>"
        )
    body.append("</table>")

    body.append(
        '<h2 id="dashboards">Dashboards</h2><table>'
        "<tr><th>dashboard</th><th>owner</th><th>variables</th><th>links</th></tr>"
    )
    for entity in resources:
        if entity["spec"]["type"] != "grafana-dashboard":
            continue
        name = entity["metadata"]["name"].removeprefix("dashboard-")
        shows = ", ".join(variables.get(name, []))
        row_links = [
            links.repo_file(f"dashboards/{name}.dashboard.py", "code"),
            links.repo_file(f"dashboards/rendered/{name}.json", "rendered JSON"),
        ]
        body.append(
            f"<tr><td>{_e(name)}</td><td>{_e(_handle(owners, _owner(entity)))}</td><td>{_e(shows)}</td>"
            f"<td>{' · '.join(row_links)}</td></tr>"
        )
    body.append("</table>")

    body.append(
        '<h2 id="infra">Infrastructure roots</h2><table><tr><th>root</th><th>owner</th><th>links</th></tr>'
    )
    for entity in resources:
        if entity["spec"]["type"] == "terraform-root":
            root = str(entity["metadata"]["title"])
            body.append(
                f"<tr><td>{_e(root)}</td><td>{_e(_handle(owners, _owner(entity)))}</td>"
                f"<td>{links.repo_file(root, 'folder')} · {links.github(root)}</td></tr>"
            )
    body.append("</table>")

    body.append('<h2 id="owners">Owners</h2><table><tr><th>team</th><th>owns</th></tr>')
    for name, group in owners.items():
        if group["spec"]["type"] != "team":
            continue
        owned = sorted(e["metadata"]["name"] for e in entities if _owner(e) == name)
        body.append(f"<tr><td>{_e(_handle(owners, name))}</td><td>{_e(', '.join(owned) or '-')}</td></tr>")
    body.append("</table>")

    envs = ", ".join(repo.platform.environments)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(org.repository)} catalogue</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_CSS}</style></head><body>"
        f"<header><h1>Service catalogue · {_e(org.repository)}</h1>"
        f"<p>Models, prompts, data, dashboards and infrastructure of this repository; versions from each "
        f"environment's registry ({_e(envs)}). Backstage reads the same entities from "
        f"catalog-info.yaml.</p></header><main><nav>"
        '<a href="#overview">Overview</a><a href="#components">Models and prompts</a><a href="#data">Data</a>'
        '<a href="#dashboards">Dashboards</a><a href="#infra">Infrastructure</a><a href="#owners">Owners</a>'
        f" · {links.repo_file('catalog-info.yaml', 'catalog-info.yaml')} · "
        f"{links.repo_file('docs/catalog.md', 'docs/catalog.md')}</nav>"
        + "".join(body)
        + "</main></body></html>\n"
    )


def _handle(owners: dict[str, Entity], name: str) -> str:
    group = owners.get(name)
    return str(group["spec"]["profile"]["displayName"]) if group else name


def _data_version(repo: Repo, dataset: str) -> str:
    from pipelines.data import DataError, data_version

    try:
        return data_version(repo, dataset)
    except DataError:
        return "not locked"
