"""Convert vendored CRD excerpts (crds/*.yaml) into the JSON Schemas the validator uses (*.schema.json).

    python infra/k8s/schemas/crd_to_jsonschema.py          # write the JSON files
    python infra/k8s/schemas/crd_to_jsonschema.py --check  # exit 1 when one is stale

Each CRD's `openAPIV3Schema` (Kubernetes' structural-schema dialect) becomes a draft 2020-12 schema:
- an object with `properties` and no `additionalProperties` rejects unknown fields (what the API server
  does with `kubectl apply --validate=strict`), unless it has x-kubernetes-preserve-unknown-fields;
- x-kubernetes-int-or-string becomes integer-or-string, `nullable` adds null;
- apiVersion and kind become constants, metadata a strict ObjectMeta subset.
The edge: x-kubernetes-validations (CEL rules) are dropped, since no CEL evaluator runs here; the API
server still enforces them at apply time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CRDS = HERE / "crds"
DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
OBJECT_META = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN},
        "namespace": {"type": "string", "maxLength": 63, "pattern": DNS_LABEL},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
# Keys of the structural dialect that carry no validation JSON Schema can apply here.
DROPPED = {
    "description",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-embedded-resource",
    "format",
    "default",
}


class CRDError(ValueError):
    """A CRD excerpt the converter cannot read; the message names the file and the field."""


def convert(node: Any, where: str) -> Any:
    """One structural-schema node -> JSON Schema (recursively)."""
    if not isinstance(node, dict):
        raise CRDError(f"{where}: expected a schema object, got {type(node).__name__}")
    out: dict[str, Any] = {}
    preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
    for key, value in node.items():
        if key in DROPPED or key == "x-kubernetes-preserve-unknown-fields":
            continue
        if key == "x-kubernetes-int-or-string":
            continue
        if key == "properties":
            out["properties"] = {k: convert(v, f"{where}.{k}") for k, v in value.items()}
        elif key == "items":
            out["items"] = convert(value, f"{where}[]")
        elif key == "additionalProperties":
            out[key] = value if isinstance(value, bool) else convert(value, f"{where}{{}}")
        elif key in ("anyOf", "allOf", "oneOf"):
            out[key] = [convert(v, f"{where}/{key}") for v in value]
        elif key == "nullable":
            continue
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.pop("anyOf", None)
        out["type"] = ["integer", "string"]
    if node.get("nullable") and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
    if "properties" in out and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    return out


def schemas_of(crd_path: Path) -> dict[str, dict[str, Any]]:
    """{file name: JSON Schema} for every served version of the CRD in `crd_path`."""
    crd = yaml.safe_load(crd_path.read_text())
    try:
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        versions = crd["spec"]["versions"]
    except (KeyError, TypeError) as err:
        raise CRDError(f"{crd_path.name}: not a CustomResourceDefinition (missing spec.{err})") from err
    source = crd.get("metadata", {}).get("annotations", {})
    out = {}
    for version in versions:
        if not version.get("served"):
            continue
        name = version["name"]
        where = f"{crd_path.name}: versions[{name}].schema.openAPIV3Schema"
        try:
            root = convert(version["schema"]["openAPIV3Schema"], where)
        except KeyError as err:
            raise CRDError(f"{where}: missing") from err
        props = root.setdefault("properties", {})
        props["apiVersion"] = {"const": f"{group}/{name}"}
        props["kind"] = {"const": kind}
        props["metadata"] = OBJECT_META
        root["required"] = sorted({"apiVersion", "kind", "metadata", *root.get("required", [])})
        root["additionalProperties"] = False
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"{kind} ({group}/{name})",
            "description": (
                f"GENERATED by crd_to_jsonschema.py from crds/{crd_path.name} "
                f"(source: {source.get('aip.platform/source', '?')}, "
                f"licence: {source.get('aip.platform/licence', '?')}). CEL rules are not checked."
            ),
            **root,
        }
        out[f"{kind.lower()}-{group.split('.')[0]}-{name}.schema.json"] = schema
    return out


def render_all() -> dict[Path, str]:
    files: dict[Path, str] = {}
    for crd_path in sorted(CRDS.glob("*.yaml")):
        for name, schema in schemas_of(crd_path).items():
            files[HERE / name] = json.dumps(schema, indent=1, sort_keys=False) + "\n"
    return files


def main(argv: list[str]) -> int:
    try:
        files = render_all()
    except CRDError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    stale = [p.name for p, text in files.items() if not p.is_file() or p.read_text() != text]
    if "--check" in argv:
        if stale:
            print(
                f"stale: {', '.join(stale)}; run python infra/k8s/schemas/crd_to_jsonschema.py",
                file=sys.stderr,
            )
            return 1
        print(f"ok: {len(files)} schemas match crds/")
        return 0
    for path, text in files.items():
        path.write_text(text)
    print(f"wrote {len(files)} schemas ({len(stale)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
