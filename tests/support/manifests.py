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
