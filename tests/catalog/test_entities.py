"""The committed Backstage entities: current, well-formed, complete, and `--check` catches staleness."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipelines.catalog import CatalogError, catalog_entities, catalog_files, stale_files
from pipelines.repo.layout import Repo
from tests.catalog.support import RELATIONS, catalogue_copy, load_entities, reference, shape_problems
from tests.support.cli import run_aip
from tests.support.repo import REPO_ROOT


def test_committed_catalogue_files_are_what_the_repository_generates() -> None:
    assert stale_files(Repo(REPO_ROOT), catalog_files(Repo(REPO_ROOT))) == []


def test_every_committed_entity_has_the_backstage_shape() -> None:
    entities = [e for docs in load_entities(REPO_ROOT).values() for e in docs]
    assert {e["kind"] for e in entities} == {"Location", "Group", "System", "Component", "API", "Resource"}
    assert [p for e in entities for p in shape_problems(e)] == []
    names = [(e["kind"], e["metadata"]["name"]) for e in entities]
    assert len(names) == len(set(names)), "an entity is defined twice"


def test_every_relation_names_an_entity_of_the_catalogue() -> None:
    entities = [e for docs in load_entities(REPO_ROOT).values() for e in docs]
    known = {(e["kind"].lower(), e["metadata"]["name"]) for e in entities}
    missing = []
    for entity in entities:
        for field, default in RELATIONS.items():
            value = entity["spec"].get(field)
            for ref in [value] if isinstance(value, str) else value or []:
                if reference(ref, default) not in known:
                    missing.append(f"{entity['kind']}:{entity['metadata']['name']} {field} -> {ref}")
    assert missing == []
    # the group tree is consistent: each team names the organisation as parent, which lists it as child
    groups = {e["metadata"]["name"]: e for e in entities if e["kind"] == "Group"}
    for name, group in groups.items():
        if parent := group["spec"].get("parent"):
            assert f"group:{name}" in groups[reference(parent, "group")[1]]["spec"]["children"]


def test_every_model_prompt_dataset_dashboard_and_infra_root_is_catalogued() -> None:
    repo = Repo(REPO_ROOT)
    entities = catalog_entities(repo)
    by_kind = {(e["kind"], e["spec"].get("type")): set() for e in entities}
    for e in entities:
        by_kind[(e["kind"], e["spec"].get("type"))].add(e["metadata"]["name"])
    assert by_kind[("Component", "ml-model")] == set(repo.model_names())
    assert by_kind[("Component", "prompt")] == set(repo.prompt_names())
    assert by_kind[("API", "openapi")] == {f"{n}-api" for n in [*repo.model_names(), *repo.prompt_names()]}
    assert by_kind[("Resource", "dataset")] == {f"dataset-{n}" for n in repo.dataset_names()}
    assert by_kind[("Resource", "vector-index")] == {"index-platform-docs"}  # the documents dataset's
    assert by_kind[("Resource", "grafana-dashboard")] == {f"dashboard-{n}" for n in repo.dashboard_names()}
    assert by_kind[("Resource", "terraform-root")] == {f"infra-{Path(r).name}" for r in repo.infra_roots()}
    teams = set(repo.platform.organisation.teams.model_dump().values())
    assert teams <= by_kind[("Group", "team")]
    slug = repo.platform.organisation.repository
    for e in entities:
        if e["kind"] in ("Component", "API", "Resource", "System"):
            assert e["metadata"]["annotations"]["github.com/project-slug"] == slug
    datasets = {e["metadata"]["name"]: e for e in entities if e["spec"].get("type") == "dataset"}
    assert datasets["dataset-breast-cancer"]["metadata"]["annotations"]["aip/license"] == "BSD-3-Clause"


def test_each_api_carries_the_servers_openapi_document_and_links_resolve_to_repo_files() -> None:
    from pipelines.serving import openapi_document

    repo = Repo(REPO_ROOT)
    entities = catalog_entities(repo)
    apis = {e["metadata"]["name"]: e for e in entities if e["kind"] == "API"}
    document = yaml.safe_load(apis["tumor-classifier-api"]["spec"]["definition"])
    assert document == openapi_document(models=["tumor-classifier"])
    assert document["openapi"].startswith("3.")
    prefix = f"https://github.com/{repo.platform.organisation.repository}/"
    for e in entities:
        for link in e["metadata"].get("links", []):
            assert link["url"].startswith(prefix), link
            path = link["url"].removeprefix(prefix).split("/", 2)[2]  # blob|tree/main/<path>
            assert (REPO_ROOT / path).exists(), f"{e['metadata']['name']} links {path}, which does not exist"
    component = next(e for e in entities if e["metadata"]["name"] == "tumor-classifier")
    titles = [link["title"] for link in component["metadata"]["links"]]
    assert "Model card" in titles and any(t.startswith("Runbook: drift-detected") for t in titles)
    assert "Dashboard: model-serving" in titles and "Dashboard: generative" not in titles
    prompt = next(e for e in entities if e["metadata"]["name"] == "platform-assistant")
    titles = [link["title"] for link in prompt["metadata"]["links"]]
    assert "Dashboard: generative" in titles and "Dashboard: drift" in titles  # drift checks prompts too
    assert any(t.startswith("Runbook: llm-errors") for t in titles)
    assert not any(t.startswith("Runbook: canary-failed") for t in titles)  # a model-only alert


@pytest.mark.slow
def test_check_names_the_stale_file_and_build_makes_it_current(tmp_path: Path) -> None:
    root = catalogue_copy(tmp_path / "repo")
    assert run_aip(root, "catalog", "build", "--check").returncode == 0
    model_yaml = root / "models" / "tumor-classifier" / "model.yaml"
    model_yaml.write_text(
        model_yaml.read_text().replace("description: Predicts", "description: Now predicts"), encoding="utf-8"
    )
    (root / "catalog" / "leftover.yaml").write_text("# a kind no longer generated\n")
    stale = run_aip(root, "catalog", "build", "--check")
    assert stale.returncode == 1
    assert "catalog/components.yaml" in stale.stderr and "catalog/leftover.yaml" in stale.stderr
    assert "catalog/apis.yaml" not in stale.stderr  # only what changed is named

    built = run_aip(root, "catalog", "build", "--html", str(tmp_path / "page"), "--env", "local")
    assert built.returncode == 0, built.stderr
    assert "wrote catalog/components.yaml" in built.stdout and "removed catalog/leftover.yaml" in built.stdout
    assert "Now predicts" in (root / "catalog" / "components.yaml").read_text()
    assert run_aip(root, "catalog", "build", "--check").returncode == 0
    assert (tmp_path / "page" / "index.html").is_file()


def test_owner_given_as_a_team_key_becomes_that_team(tmp_path: Path) -> None:
    root = catalogue_copy(tmp_path / "repo")
    model_yaml = root / "models" / "tumor-classifier" / "model.yaml"
    text = model_yaml.read_text()
    owner_line = next(line for line in text.splitlines() if line.startswith("owner:"))
    model_yaml.write_text(text.replace(owner_line, "owner: data"), encoding="utf-8")
    component = next(e for e in catalog_entities(Repo(root)) if e["metadata"]["name"] == "tumor-classifier")
    assert component["spec"]["owner"] == "group:data-engineers"


def test_an_owner_that_cannot_be_a_group_fails_naming_the_file(tmp_path: Path) -> None:
    root = catalogue_copy(tmp_path / "repo")
    model_yaml = root / "models" / "tumor-classifier" / "model.yaml"
    text = model_yaml.read_text()
    owner_line = next(line for line in text.splitlines() if line.startswith("owner:"))
    model_yaml.write_text(text.replace(owner_line, 'owner: "Jane Doe <jane@example.org>"'), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"models/tumor-classifier/model.yaml: owner 'Jane Doe"):
        catalog_entities(Repo(root))
    result = run_aip(root, "catalog", "build", "--check")
    assert result.returncode == 2 and "models/tumor-classifier/model.yaml" in result.stderr  # bad config
