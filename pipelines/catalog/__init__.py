"""The service catalogue: Backstage entities for everything in the repository, and an HTML page.

`aip catalog build` writes catalog-info.yaml (a Location) and catalog/<kind>.yaml from the repository's
files (entities.py, build.py; deterministic, so `--check` catches a stale commit) and renders
<state_dir>/catalog/index.html with the versions each environment's registry holds (page.py).
docs/catalog.md.
"""

from pipelines.catalog.build import CatalogFiles, catalog_files, stale_files, write_files
from pipelines.catalog.entities import API_VERSION, CatalogError, Entity, catalog_entities, entity_ref
from pipelines.catalog.page import EnvVersion, registry_versions, render_page

__all__ = [
    "API_VERSION",
    "CatalogError",
    "CatalogFiles",
    "Entity",
    "EnvVersion",
    "catalog_entities",
    "catalog_files",
    "entity_ref",
    "registry_versions",
    "render_page",
    "stale_files",
    "write_files",
]
