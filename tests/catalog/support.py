"""A scratch copy of what the catalogue reads, and the Backstage rules its entities must follow."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.support.repo import REPO_ROOT

# What `aip catalog build` reads or links to (the page links docs, READMEs, dashboards, infra roots).
_COPY = ["platform.yaml", "README.md", "models", "prompts", "datasets", "dashboards", "infra/envs", "docs",
         "catalog-info.yaml", "catalog"]  # fmt: skip
_SKIP = {"__pycache__", "data", ".terraform", "tmp", "cache"}

# Backstage's descriptor format (packages/catalog-model/src/schema/kinds/*.v1alpha1.schema.json):
# required spec fields per kind, and which spec fields are entity references of which default kind.
REQUIRED_SPEC = {
    "Component": {"type", "lifecycle", "owner"},
    "API": {"type", "lifecycle", "owner", "definition"},
    "Resource": {"type", "owner"},
    "System": {"owner"},
    "Group": {"type", "children"},
    "Location": set(),
}
RELATIONS = {  # spec field -> kind a bare name refers to (None: the reference must name its kind)
    "owner": "group",
    "system": "system",
    "providesApis": "api",
    "consumesApis": "api",
    "dependsOn": None,
    "dependencyOf": None,
    "parent": "group",
    "children": "group",
    "subcomponentOf": "component",
    "domain": "domain",
}
NAME = re.compile(r"^[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*$")
TAG = re.compile(r"^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$")
ANNOTATION_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*$"
)


def catalogue_copy(dest: Path) -> Path:
    """A scratch folder with the files the catalogue reads (no git, no data, no state)."""
    for rel in _COPY:
        src, target = REPO_ROOT / rel, dest / rel
        if src.is_dir():
            shutil.copytree(src, target, ignore=lambda _d, names: {n for n in names if n in _SKIP})
        elif src.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


def load_entities(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Entities by file, following catalog-info.yaml's Location targets (files must exist)."""
    found: dict[str, list[dict[str, Any]]] = {}
    pending = ["catalog-info.yaml"]
    while pending:
        rel = pending.pop()
        path = root / rel
        assert path.is_file(), f"Location target {rel} does not exist"
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        found[rel] = docs
        for doc in docs:
            if doc.get("kind") == "Location":
                spec = doc["spec"]
                for target in [*spec.get("targets", []), *([spec["target"]] if "target" in spec else [])]:
                    pending.append(str((path.parent / target).resolve().relative_to(root.resolve())))
    return found


def shape_problems(entity: dict[str, Any]) -> list[str]:
    """What makes `entity` something Backstage's validators refuse (empty: valid)."""
    problems: list[str] = []
    kind, meta, spec = entity.get("kind"), entity.get("metadata") or {}, entity.get("spec")
    where = f"{kind}:{meta.get('name')}"
    if entity.get("apiVersion") != "backstage.io/v1alpha1":
        problems.append(f"{where}: apiVersion {entity.get('apiVersion')!r}")
    if kind not in REQUIRED_SPEC:
        return [*problems, f"{where}: unknown kind"]
    name = str(meta.get("name", ""))
    if not NAME.match(name) or len(name) > 63:
        problems.append(f"{where}: bad metadata.name")
    if not isinstance(spec, dict):
        return [*problems, f"{where}: spec is not a mapping"]
    for key in sorted(REQUIRED_SPEC[kind] - set(spec)):
        problems.append(f"{where}: spec.{key} missing")
    for key, value in spec.items():
        if key in ("children", "providesApis", "consumesApis", "dependsOn", "dependencyOf", "targets"):
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                problems.append(f"{where}: spec.{key} is not a list of strings")
        elif key not in ("profile",) and (not isinstance(value, str) or not value):
            problems.append(f"{where}: spec.{key} is not a non-empty string")
    for key, value in (meta.get("annotations") or {}).items():
        if not ANNOTATION_KEY.match(key) or not isinstance(value, str):
            problems.append(f"{where}: annotation {key!r}")
    problems += [f"{where}: tag {t!r}" for t in meta.get("tags") or [] if not TAG.match(t) or len(t) > 63]
    problems += [f"{where}: link without url" for link in meta.get("links") or [] if not link.get("url")]
    return problems


def reference(ref: str, default_kind: str | None) -> tuple[str, str]:
    """(kind, name) of `[kind:][namespace/]name`, lower-case kind."""
    kind, _, rest = ref.rpartition(":") if ":" in ref else ("", "", ref)
    assert kind or default_kind, f"reference {ref!r} must name its kind"
    return (kind or str(default_kind)).lower(), rest.rpartition("/")[2]
