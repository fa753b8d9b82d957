"""kubectl, the one way this package talks to a cluster: `apply` (server-side) and `get -o json`
against the current kubeconfig context, as pipelines/deploy/backends.py's LiveKubectl does. In the
deploy workflow that context is the environment's EKS cluster (`aws eks update-kubeconfig`).

No API server runs on the build machines: tests drive this class with a stand-in `kubectl`
executable (tests/cluster), so the commands and the parsing are exercised, the cluster is not.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from pipelines.cluster.errors import ClusterError

__all__ = ["Kubectl"]


class Kubectl:
    def __init__(
        self, context: str | None = None, kubectl: str = "kubectl", timeout_s: float = 120.0
    ) -> None:
        self.base = [kubectl] + (["--context", context] if context else [])
        self.timeout_s = timeout_s

    def _run(self, args: list[str], what: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [*self.base, *args]
        try:
            return subprocess.run(
                cmd, input=stdin, capture_output=True, text=True, check=False, timeout=self.timeout_s
            )
        except FileNotFoundError:
            raise ClusterError(f"{what}: {self.base[0]} not found on PATH (install kubectl)") from None
        except subprocess.TimeoutExpired:
            raise ClusterError(f"{what}: kubectl gave no answer within {self.timeout_s:g}s") from None

    def apply(self, docs: list[dict[str, Any]], what: str) -> list[str]:
        """Server-side apply of `docs` as one List; returns kubectl's lines (`kind/name ...-applied`)."""
        body = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
        proc = self._run(["apply", "--server-side", "--field-manager=aip", "-f", "-"], what, stdin=body)
        if proc.returncode != 0:
            raise ClusterError(f"{what}: kubectl apply failed: {proc.stderr.strip()[:1500]}")
        return [line for line in proc.stdout.splitlines() if line.strip()]

    def get(self, resource: str, name: str, namespace: str) -> dict[str, Any] | None:
        """The object as JSON, or None when it does not exist (any other failure raises)."""
        what = f"get {resource}/{name} in {namespace}"
        proc = self._run(["-n", namespace, "get", f"{resource}/{name}", "-o", "json"], what)
        if proc.returncode != 0:
            if "NotFound" in proc.stderr or "not found" in proc.stderr:
                return None
            raise ClusterError(f"{what}: {proc.stderr.strip()[:1500]}")
        try:
            data: dict[str, Any] = json.loads(proc.stdout)
        except json.JSONDecodeError as err:
            raise ClusterError(f"{what}: kubectl printed no JSON ({err})") from None
        return data
