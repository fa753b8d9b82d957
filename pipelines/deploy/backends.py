"""Traffic backends: where the controller loads a canary, moves weight, promotes and rolls back.

- `LocalServerBackend`: the embedded default. The split lives inside `aip serve`; the controller
  drives it through the server's authenticated admin API (docs/serving.md).
- `KubernetesBackend`: the stable, canary and baseline tracks are three Deployments behind one
  Gateway API HTTPRoute (infra/k8s/base/model-server). Weights = a JSON patch of the route's
  backendRefs weights (guarded by `test` ops, so a route whose refs were reordered is refused, not
  mis-weighted); the canary version = `MODEL_VERSION` on the canary Deployment's container, the
  baseline = the stable's version on the baseline Deployment, scaled like the canary; promotion =
  the canary's version on the stable Deployment (put back if its pods do not become ready), then
  weights 100/0/0 and canary and baseline scaled to zero.
  `Kubectl` runs the patches: `LiveKubectl` against a cluster (`kubectl -n NS patch ...`, then
  `kubectl rollout status`), `OfflineKubectl` with `kubectl patch --local` on rendered manifests.
  THE EDGE: there is no cluster here, so tests stop at OfflineKubectl: the patches are generated and
  applied by the real kubectl to `kubectl kustomize` output and the result is validated; that
  kubectl reaches an API server, that the gateway honours the weights and that pods become ready
  are not tested here.
  The pods run `aip serve` under the server contract (pipelines/serving/contract.py): MODEL_NAME,
  MODEL_LABEL and AIP_ENV from the manifests, `MODEL_VERSION` (`VERSION_ENV`) pinned here.
  Rollout metrics (`aip_rollout_*`): pushed to the Pushgateway at AIP_PUSHGATEWAY_URL (job
  `aip-deploy`, one group per model and env), as the batch jobs push theirs
  (pipelines/observability/push.py); without it they are not exported, and `record` says so once.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from pipelines.errors import AipError
from pipelines.http import HttpError, Unreachable, request_json
from pipelines.serving.contract import ENV_VARS

if TYPE_CHECKING:
    from pipelines.observability.push import Batch
    from pipelines.repo.layout import Repo

__all__ = [
    "VERSION_ENV",
    "BackendError",
    "BackendStatus",
    "CanaryLoadFailed",
    "KubernetesBackend",
    "LiveKubectl",
    "LocalServerBackend",
    "OfflineKubectl",
    "TrafficBackend",
    "rollout_batch",
]

VERSION_ENV = ENV_VARS["version"][1]  # MODEL_VERSION: what `aip serve` reads as its pinned --version
ROLLOUT_JOB = "aip-deploy"  # the Pushgateway job of the rollout metrics


class BackendError(AipError):
    """The backend refused or failed an operation; the message says which and where."""


class CanaryLoadFailed(BackendError):
    """The canary version could not be loaded (the stable is unaffected)."""


@dataclass(frozen=True)
class BackendStatus:
    stable: str | None  # version serving as stable, None when the model is not served
    canary: str | None
    weight: float  # canary share 0..1


class TrafficBackend(Protocol):
    def describe(self) -> str: ...

    def status(self, model: str) -> BackendStatus: ...

    def load_canary(self, model: str, version: str) -> None:
        """Load `version` as the canary at weight 0; CanaryLoadFailed if it cannot serve."""
        ...

    def load_baseline(self, model: str) -> None:
        """Start a fresh instance of the stable version as the baseline at weight 0."""
        ...

    def set_weight(self, model: str, weight: float, baseline_weight: float = 0.0) -> None:
        """Send `weight` (0..1) of the model's traffic to the canary, `baseline_weight` to the baseline."""
        ...

    def promote(self, model: str) -> None:
        """The canary becomes the stable; canary and baseline weights back to 0, baseline removed."""
        ...

    def rollback(self, model: str) -> None:
        """Weights 0, canary and baseline removed; the stable is untouched."""
        ...

    def record(self, event: dict[str, Any]) -> None:
        """Best effort: hand a rollout event to whatever exports the controller's metrics."""
        ...


# ---- local: the server's admin API ---------------------------------------------------------------
class LocalServerBackend:
    def __init__(self, endpoint: str, token: str | None, timeout: float = 120.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.token = token
        self.timeout = timeout

    def describe(self) -> str:
        return f"aip serve admin API at {self.endpoint}"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        url = f"{self.endpoint}/v1/admin/{path}"
        try:
            return request_json(method, url, body, token=self.token, timeout=self.timeout)
        except HttpError as exc:
            raise BackendError(str(exc)) from None
        except Unreachable as exc:
            raise BackendError(f"server unreachable: {exc}") from None

    def status(self, model: str) -> BackendStatus:
        url = f"{self.endpoint}/v1/admin/models/{model}"
        try:
            body = request_json("GET", url, token=self.token, timeout=self.timeout)
        except HttpError as exc:
            if exc.status == 404:
                return BackendStatus(None, None, 0.0)
            raise BackendError(str(exc)) from None
        except Unreachable as exc:
            raise BackendError(f"server unreachable: {exc}") from None
        stable, canary = body.get("stable") or {}, body.get("canary") or {}
        return BackendStatus(
            str(stable["version"]) if stable.get("version") is not None else None,
            str(canary["version"]) if canary.get("version") is not None else None,
            float(body.get("canary_weight") or 0.0),
        )

    def load_canary(self, model: str, version: str) -> None:
        url = f"{self.endpoint}/v1/admin/models/{model}/canary"
        try:
            request_json("POST", url, {"version": str(version)}, token=self.token, timeout=self.timeout)
        except HttpError as exc:
            if exc.status in (400, 404, 422, 500, 503):
                raise CanaryLoadFailed(f"{model} v{version} failed to load: {exc.message}") from None
            raise BackendError(str(exc)) from None
        except Unreachable as exc:
            raise BackendError(f"server unreachable: {exc}") from None

    def load_baseline(self, model: str) -> None:
        self._call("POST", f"models/{model}/baseline", {})

    def set_weight(self, model: str, weight: float, baseline_weight: float = 0.0) -> None:
        body = {"canary_weight": round(weight, 4), "baseline_weight": round(baseline_weight, 4)}
        self._call("PUT", f"models/{model}/traffic", body)

    def promote(self, model: str) -> None:
        self._call("POST", f"models/{model}/promote", {})

    def rollback(self, model: str) -> None:
        self._call("DELETE", f"models/{model}/canary")

    def record(self, event: dict[str, Any]) -> None:
        # Metrics export is best effort: a rollout never fails because an event was lost.
        with contextlib.suppress(HttpError, Unreachable):
            url = f"{self.endpoint}/v1/admin/rollout-events"
            request_json("POST", url, event, token=self.token, timeout=5.0)


# ---- Kubernetes: Gateway API HTTPRoute weights -------------------------------------------------
class Kubectl(Protocol):
    def patch(self, kind: str, name: str, patch_type: str, patch: Any) -> None: ...

    def get(self, kind: str, name: str) -> dict[str, Any]: ...

    def wait_ready(self, deployment: str, timeout_s: int) -> None: ...


def _run(cmd: list[str], what: str) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    except FileNotFoundError:
        raise BackendError(f"{what}: kubectl not found on PATH") from None
    if proc.returncode != 0:
        raise BackendError(f"{what}: {' '.join(cmd[:4])} ... failed: {proc.stderr.strip()[:800]}")
    return proc.stdout


class LiveKubectl:
    """kubectl against the current (or named) context. Not exercised here: no cluster (see module doc)."""

    def __init__(self, namespace: str, context: str | None = None, kubectl: str = "kubectl") -> None:
        self.base = [kubectl, "-n", namespace] + (["--context", context] if context else [])

    def patch(self, kind: str, name: str, patch_type: str, patch: Any) -> None:
        cmd = [*self.base, "patch", f"{kind.lower()}/{name}", "--type", patch_type, "-p", json.dumps(patch)]
        _run(cmd, f"patch {kind}/{name}")

    def get(self, kind: str, name: str) -> dict[str, Any]:
        out = _run([*self.base, "get", f"{kind.lower()}/{name}", "-o", "json"], f"get {kind}/{name}")
        data: dict[str, Any] = json.loads(out)
        return data

    def wait_ready(self, deployment: str, timeout_s: int) -> None:
        cmd = [*self.base, "rollout", "status", f"deployment/{deployment}", f"--timeout={timeout_s}s"]
        _run(cmd, f"rollout of {deployment}")


class OfflineKubectl:
    """`kubectl patch --local` on a folder of rendered objects (one `<kind>-<name>.yaml` each)."""

    def __init__(self, folder: Path, kubectl: str = "kubectl") -> None:
        self.folder = folder
        self.kubectl = kubectl

    @classmethod
    def from_kustomize(cls, overlay: Path, folder: Path, kubectl: str = "kubectl") -> OfflineKubectl:
        """Render `overlay` with `kubectl kustomize` and split it into one file per object."""
        from ruamel.yaml import YAML

        out = _run([kubectl, "kustomize", str(overlay)], f"render {overlay}")
        folder.mkdir(parents=True, exist_ok=True)
        yaml = YAML(typ="safe")
        for doc in yaml.load_all(out):
            if doc:
                path = folder / f"{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"
                with path.open("w") as handle:
                    yaml.dump(doc, handle)
        return cls(folder, kubectl)

    def _file(self, kind: str, name: str) -> Path:
        path = self.folder / f"{kind.lower()}-{name}.yaml"
        if not path.is_file():
            raise BackendError(f"{kind}/{name}: no rendered manifest at {path}")
        return path

    def patch(self, kind: str, name: str, patch_type: str, patch: Any) -> None:
        path = self._file(kind, name)
        cmd = [self.kubectl, "patch", "--local", "-f", str(path), "--type", patch_type]
        out = _run([*cmd, "-p", json.dumps(patch), "-o", "yaml"], f"patch {kind}/{name}")
        path.write_text(out, encoding="utf-8")

    def get(self, kind: str, name: str) -> dict[str, Any]:
        from ruamel.yaml import YAML

        data: dict[str, Any] = YAML(typ="safe").load(self._file(kind, name).read_text(encoding="utf-8"))
        return data

    def wait_ready(self, deployment: str, timeout_s: int) -> None:
        self._file("Deployment", deployment)  # offline: the object exists; readiness is beyond the edge


def weight_patch(
    route: dict[str, Any], refs: tuple[str, str, str], canary_percent: int, baseline_percent: int = 0
) -> list[dict[str, Any]]:
    """JSON patch setting the weights of backendRefs [0] stable, [1] canary, [2] baseline.

    Every rule whose refs are exactly `refs` gets the weights; the `test` ops make the API server
    (or kubectl --local) refuse the patch if the refs moved since they were read.
    """
    if canary_percent + baseline_percent > 100:
        raise BackendError(f"canary {canary_percent}% + baseline {baseline_percent}% exceed 100%")
    weights = (100 - canary_percent - baseline_percent, canary_percent, baseline_percent)
    ops: list[dict[str, Any]] = []
    rules = route.get("spec", {}).get("rules", [])
    for i, rule in enumerate(rules):
        if tuple(r.get("name") for r in rule.get("backendRefs", [])) != refs:
            continue
        base = f"/spec/rules/{i}/backendRefs"
        ops += [{"op": "test", "path": f"{base}/{j}/name", "value": name} for j, name in enumerate(refs)]
        ops += [{"op": "replace", "path": f"{base}/{j}/weight", "value": w} for j, w in enumerate(weights)]
    if not ops:
        name = route.get("metadata", {}).get("name")
        raise BackendError(
            f"HTTPRoute {name}: no rule whose backendRefs are exactly [{', '.join(refs)}] "
            "(infra/k8s/base/model-server/httproute.yaml keeps stable, canary, baseline in that order)"
        )
    return ops


class KubernetesBackend:
    def __init__(
        self,
        kubectl: Kubectl,
        route: str = "model-server",
        stable_deployment: str = "model-server-stable",
        canary_deployment: str = "model-server-canary",
        stable_service: str = "model-server-stable",
        canary_service: str = "model-server-canary",
        container: str = "model-server",
        ready_timeout_s: int = 600,
        baseline_deployment: str = "model-server-baseline",
        baseline_service: str = "model-server-baseline",
    ) -> None:
        self.kubectl = kubectl
        self.route = route
        self.stable_deployment, self.canary_deployment = stable_deployment, canary_deployment
        self.baseline_deployment = baseline_deployment
        self.stable_service, self.canary_service = stable_service, canary_service
        self.refs = (stable_service, canary_service, baseline_service)
        self.container = container
        self.ready_timeout_s = ready_timeout_s
        self._said_no_push = False

    def describe(self) -> str:
        return f"Kubernetes HTTPRoute {self.route} ({type(self.kubectl).__name__})"

    def _version_of(self, deployment: str) -> str | None:
        spec = self.kubectl.get("Deployment", deployment)["spec"]
        if spec.get("replicas", 1) == 0:
            return None
        for container in spec["template"]["spec"]["containers"]:
            if container["name"] == self.container:
                for env in container.get("env", []):
                    if env["name"] == VERSION_ENV:
                        return str(env.get("value"))
        return None

    def status(self, model: str) -> BackendStatus:
        route = self.kubectl.get("HTTPRoute", self.route)
        weight = 0.0
        for rule in route["spec"].get("rules", []):
            refs = rule.get("backendRefs", [])
            if tuple(r.get("name") for r in refs) == self.refs:
                total = sum(int(r.get("weight", 1)) for r in refs)
                weight = int(refs[1].get("weight", 1)) / total if total else 0.0
                break
        return BackendStatus(
            self._version_of(self.stable_deployment), self._version_of(self.canary_deployment), weight
        )

    def _pin(self, deployment: str, version: str, replicas: int | None = None) -> None:
        spec: dict[str, Any] = {
            "template": {
                "spec": {
                    "containers": [{"name": self.container, "env": [{"name": VERSION_ENV, "value": version}]}]
                }
            }
        }
        if replicas is not None:
            spec["replicas"] = replicas
        self.kubectl.patch("Deployment", deployment, "strategic", {"spec": spec})

    def _scale_to_zero(self, deployment: str) -> None:
        self.kubectl.patch("Deployment", deployment, "merge", {"spec": {"replicas": 0}})

    def load_canary(self, model: str, version: str) -> None:
        self.set_weight(model, 0.0)
        self._pin(self.canary_deployment, str(version), replicas=1)
        try:
            self.kubectl.wait_ready(self.canary_deployment, self.ready_timeout_s)
        except BackendError as exc:
            self._scale_to_zero(self.canary_deployment)
            raise CanaryLoadFailed(f"{model} v{version}: canary pods not ready: {exc}") from None

    def load_baseline(self, model: str) -> None:
        stable = self._version_of(self.stable_deployment)
        if stable is None:
            raise BackendError(f"{self.stable_deployment}: no stable version to start a baseline of")
        # Same replica count as the canary, so both tracks run under the same per-pod load.
        self._pin(self.baseline_deployment, stable, replicas=1)
        try:
            self.kubectl.wait_ready(self.baseline_deployment, self.ready_timeout_s)
        except BackendError as exc:
            self._scale_to_zero(self.baseline_deployment)
            raise BackendError(f"{model}: baseline pods (v{stable}) not ready: {exc}") from None

    def set_weight(self, model: str, weight: float, baseline_weight: float = 0.0) -> None:
        route = self.kubectl.get("HTTPRoute", self.route)
        ops = weight_patch(route, self.refs, round(weight * 100), round(baseline_weight * 100))
        self.kubectl.patch("HTTPRoute", self.route, "json", ops)

    def promote(self, model: str) -> None:
        version = self._version_of(self.canary_deployment)
        if version is None:
            raise BackendError(f"{self.canary_deployment}: no canary version to promote")
        previous = self._version_of(self.stable_deployment)
        # The canary keeps its share until the stable pods run the new version: no gap in service.
        self._pin(self.stable_deployment, version)
        try:
            self.kubectl.wait_ready(self.stable_deployment, self.ready_timeout_s)
        except BackendError as exc:
            if previous is not None:
                self._pin(self.stable_deployment, previous)  # put production back as it was
            raise BackendError(
                f"{self.stable_deployment}: v{version} not ready ({exc}); stable put back to v{previous}"
            ) from None
        self.set_weight(model, 0.0)
        self._scale_to_zero(self.canary_deployment)
        self._scale_to_zero(self.baseline_deployment)

    def rollback(self, model: str) -> None:
        self.set_weight(model, 0.0)
        self._scale_to_zero(self.canary_deployment)
        self._scale_to_zero(self.baseline_deployment)

    def record(self, event: dict[str, Any]) -> None:
        """Push the event's `aip_rollout_*` metrics to the Pushgateway (AIP_PUSHGATEWAY_URL); best
        effort: a failure is a warning, never a failed rollout. Without the URL: one warning."""
        from pipelines.observability.push import PUSHGATEWAY_ENV, push

        url = os.environ.get(PUSHGATEWAY_ENV)
        if not url:
            if not self._said_no_push:
                self._said_no_push = True
                print(
                    f"warning: {PUSHGATEWAY_ENV} is not set: the rollout metrics (aip_rollout_*) of this "
                    "deploy are not exported (set it to your Pushgateway, e.g. http://pushgateway:9091)",
                    file=sys.stderr,
                )
            return
        batch = rollout_batch(event)
        if batch is None:
            return
        try:
            # The repo is only read for the textfile fallback, which the URL above rules out.
            push(cast("Repo", None), batch)
        except Exception as exc:
            print(f"warning: rollout metrics not pushed to {url}: {exc}", file=sys.stderr)


def rollout_batch(event: dict[str, Any]) -> Batch | None:
    """The Pushgateway batch of one controller event (weight, analysis, verdict), as the server's
    /v1/admin/rollout-events turns it into metrics; None for an event of another kind."""
    from pipelines.observability.push import Batch

    model, env, kind = str(event.get("model", "")), str(event.get("env", "")), event.get("kind")
    keep = {"aip_rollout_canary_weight_ratio", "aip_rollout_last_verdict_timestamp_seconds"}
    batch = Batch(ROLLOUT_JOB, {"model": model, "env": env}, keep=keep)
    if kind == "weight":
        batch.add("aip_rollout_canary_weight_ratio", float(event.get("weight") or 0.0))
    elif kind == "analysis":
        batch.add("aip_rollout_analysis_total", 1, check=str(event["check"]), result=str(event["result"]))
    elif kind == "verdict":
        verdict = str(event["verdict"])
        batch.add("aip_rollout_verdicts_total", 1, verdict=verdict)
        batch.add("aip_rollout_last_verdict_timestamp_seconds", time.time(), verdict=verdict)
    else:
        return None
    return batch
