"""The model server's command as the rendered Kubernetes manifests give it, runnable on 127.0.0.1."""

from __future__ import annotations

from typing import Any


def track_command(cluster: Any, track: str) -> tuple[list[str], dict[str, str]]:
    """(args, env) of the `model-server-<track>` Deployment's container in a rendered cluster."""
    container = cluster.get("Deployment", f"model-server-{track}")["spec"]["template"]["spec"]["containers"][
        0
    ]
    return list(container["args"]), {e["name"]: str(e["value"]) for e in container["env"]}


def with_ports(args: list[str], rest: int, grpc: int) -> list[str]:
    """The manifest's args bound to 127.0.0.1 on free ports (tests run in parallel); nothing else changes."""
    assert args[0] == "serve" and set(args[1::2]) == {"--host", "--rest-port", "--grpc-port"}, args
    values = {"--host": "127.0.0.1", "--rest-port": str(rest), "--grpc-port": str(grpc)}
    return [args[0], *[x for flag in args[1::2] for x in (flag, values[flag])]]


# --- Rendered overlays and the infra/k8s helper scripts, for tests/infra (added with the platform objects).


def render_overlay(env: str) -> list[dict[str, Any]]:
    """Every object `kubectl kustomize infra/k8s/overlays/<env>` renders (kubectl must be on PATH)."""
    import shutil
    import subprocess

    import yaml

    from tests.support.infra import INFRA

    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with built-in kustomize) is required: see infra/README.md"
    out = subprocess.run(
        [kubectl, "kustomize", str(INFRA / "k8s" / "overlays" / env)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def by_kind_name(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def k8s_script(relative: str) -> Any:
    """Import a script under infra/k8s (e.g. "schemas/validate.py") as a module, without a package."""
    import importlib.util
    import sys

    from tests.support.infra import INFRA

    path = INFRA / "k8s" / relative
    name = "aip_k8s_" + relative.replace("/", "_").removesuffix(".py")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
