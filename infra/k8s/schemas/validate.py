"""Validate rendered Kubernetes manifests: built-in kinds with kubernetes-validate, custom resources with
the vendored JSON Schemas in this folder (crds/ -> crd_to_jsonschema.py -> *.schema.json).

    validate_manifests(text)               -> ["Kind/name: message at path", ...]  (tools venv)
    validate_manifests(text, builtin=False) -> the same for custom resources only (needs only jsonschema)

A custom resource with no vendored schema is an error, never a silent pass: vendor its CRD first.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
KUBERNETES_VERSION = "1.35.0"  # the EKS version (infra/modules/eks-cluster); infra_check passes its own
# API groups served by Kubernetes itself (kubernetes-validate has their schemas); anything else is a CRD.
BUILTIN_GROUPS = {
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "rbac.authorization.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
}


@cache
def custom_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """{(apiVersion, kind): schema} of every *.schema.json here (each pins both as constants)."""
    found = {}
    for path in sorted(HERE.glob("*.schema.json")):
        schema = json.loads(path.read_text())
        props = schema.get("properties", {})
        key = (props.get("apiVersion", {}).get("const"), props.get("kind", {}).get("const"))
        if None in key:
            raise ValueError(f"{path.name}: properties.apiVersion and properties.kind must be `const`")
        found[key] = schema
    return found


def _group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def _validate_custom(doc: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{error.message} at {'/'.join(map(str, error.absolute_path)) or '<root>'}"
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]


def _validate_builtin(doc: dict[str, Any], kubernetes_version: str) -> list[str]:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(doc, kubernetes_version, strict=True)
    except kubernetes_validate.ValidationError as err:
        return [f"{err.message} at {'/'.join(map(str, err.path)) or '<root>'}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {doc.get('apiVersion')} {doc.get('kind')} in Kubernetes {kubernetes_version}"]
    return []


def validate_document(
    doc: dict[str, Any], kubernetes_version: str = KUBERNETES_VERSION, builtin: bool = True
) -> list[str]:
    """Problems of one object, each prefixed with Kind/name."""
    api_version, kind = str(doc.get("apiVersion", "")), str(doc.get("kind", ""))
    name = f"{kind}/{(doc.get('metadata') or {}).get('name')}"
    schema = custom_schemas().get((api_version, kind))
    if schema is not None:
        problems = _validate_custom(doc, schema)
    elif _group(api_version) in BUILTIN_GROUPS:
        problems = _validate_builtin(doc, kubernetes_version) if builtin else []
    else:
        problems = [f"no vendored schema for {api_version} {kind}: add its CRD to infra/k8s/schemas/crds/"]
    return [f"{name}: {p}" for p in problems]


def validate_manifests(
    text: str, kubernetes_version: str = KUBERNETES_VERSION, builtin: bool = True
) -> list[str]:
    """Problems of every document in a rendered multi-document YAML stream."""
    errors: list[str] = []
    for doc in yaml.safe_load_all(text):
        if doc:
            errors += validate_document(doc, kubernetes_version, builtin)
    return errors
