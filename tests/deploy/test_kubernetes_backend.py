"""The Kubernetes backend up to the edge: real kubectl renders the overlay and applies the backend's
patches with `kubectl patch --local`; the patched route is checked against the repo's HTTPRoute schema.

The edge: no cluster here. What is NOT tested: kubectl reaching an API server, the gateway honouring
the weights, pods becoming ready (LiveKubectl.wait_ready). See pipelines/deploy/backends.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines.deploy.backends import BackendError, KubernetesBackend, OfflineKubectl, weight_patch

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


@pytest.fixture
def cluster(tmp_path: Path) -> OfflineKubectl:
    return OfflineKubectl.from_kustomize(REPO / "infra" / "k8s" / "overlays" / "dev", tmp_path / "rendered")


def weights(kubectl: OfflineKubectl) -> list[tuple[str, int]]:
    route = kubectl.get("HTTPRoute", "model-server")
    return [(r["name"], r["weight"]) for r in route["spec"]["rules"][0]["backendRefs"]]


def validate_route(kubectl: OfflineKubectl) -> None:
    import jsonschema

    schema = json.loads((REPO / "infra" / "k8s" / "schemas" / "httproute-gateway-v1.schema.json").read_text())
    jsonschema.validate(kubectl.get("HTTPRoute", "model-server"), schema)


def env_of(kubectl: OfflineKubectl, deployment: str) -> dict[str, str]:
    container = kubectl.get("Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container["env"]}


STABLE, CANARY, BASELINE = "model-server-stable", "model-server-canary", "model-server-baseline"


def pin_stable(cluster: OfflineKubectl, version: str) -> None:
    """What a previous promotion left: the stable Deployment pinned to a version."""
    container = {"name": "model-server", "env": [{"name": "MODEL_VERSION", "value": version}]}
    cluster.patch(
        "Deployment", STABLE, "strategic", {"spec": {"template": {"spec": {"containers": [container]}}}}
    )


def test_a_canary_rollout_moves_route_weights_for_canary_and_baseline_and_pins_versions(cluster):
    backend = KubernetesBackend(cluster)
    assert weights(cluster) == [(STABLE, 100), (CANARY, 0), (BASELINE, 0)]
    pin_stable(cluster, "2")

    backend.load_canary("tumor-classifier", "3")
    backend.load_baseline("tumor-classifier")
    assert env_of(cluster, CANARY)["MODEL_VERSION"] == "3"
    assert env_of(cluster, CANARY)["MODEL_LABEL"] == "canary"  # the rest of the env is kept
    assert env_of(cluster, BASELINE)["MODEL_VERSION"] == "2"  # the stable's version, fresh pods
    assert env_of(cluster, BASELINE)["MODEL_LABEL"] == "baseline"
    for deployment in (CANARY, BASELINE):
        assert cluster.get("Deployment", deployment)["spec"]["replicas"] == 1

    backend.set_weight("tumor-classifier", 0.1, 0.1)
    assert weights(cluster) == [(STABLE, 80), (CANARY, 10), (BASELINE, 10)]
    validate_route(cluster)
    status = backend.status("tumor-classifier")
    assert status.canary == "3" and status.weight == pytest.approx(0.1)

    backend.set_weight("tumor-classifier", 0.5, 0.5)
    assert weights(cluster) == [(STABLE, 0), (CANARY, 50), (BASELINE, 50)]
    backend.promote("tumor-classifier")
    assert env_of(cluster, STABLE)["MODEL_VERSION"] == "3"
    assert weights(cluster) == [(STABLE, 100), (CANARY, 0), (BASELINE, 0)]
    for deployment in (CANARY, BASELINE):
        assert cluster.get("Deployment", deployment)["spec"]["replicas"] == 0
    assert backend.status("tumor-classifier").canary is None
    validate_route(cluster)


def test_a_rollback_sends_everything_to_stable_and_scales_canary_and_baseline_down(cluster):
    backend = KubernetesBackend(cluster)
    pin_stable(cluster, "2")
    backend.load_canary("tumor-classifier", "4")
    backend.load_baseline("tumor-classifier")
    backend.set_weight("tumor-classifier", 0.5, 0.5)
    backend.rollback("tumor-classifier")
    assert weights(cluster) == [(STABLE, 100), (CANARY, 0), (BASELINE, 0)]
    for deployment in (CANARY, BASELINE):
        assert cluster.get("Deployment", deployment)["spec"]["replicas"] == 0
    assert env_of(cluster, STABLE)["MODEL_VERSION"] == "2"


def test_a_baseline_needs_a_pinned_stable_version(cluster):
    with pytest.raises(BackendError, match="no stable version"):
        KubernetesBackend(cluster).load_baseline("tumor-classifier")


def test_weights_that_leave_stable_a_negative_share_are_refused(cluster):
    route = cluster.get("HTTPRoute", "model-server")
    with pytest.raises(BackendError, match="exceed 100%"):
        weight_patch(route, (STABLE, CANARY, BASELINE), 60, 60)


class NeverReady(OfflineKubectl):
    """Pods of one Deployment never become ready (a bad image, a crash loop)."""

    def __init__(self, folder: Path, broken: str) -> None:
        super().__init__(folder)
        self.broken = broken

    def wait_ready(self, deployment: str, timeout_s: int) -> None:
        if deployment == self.broken:
            raise BackendError(f"rollout of {deployment}: timed out")
        super().wait_ready(deployment, timeout_s)


def test_a_promotion_whose_stable_pods_never_become_ready_puts_stable_back(cluster):
    pin_stable(cluster, "2")
    backend = KubernetesBackend(NeverReady(cluster.folder, STABLE))
    backend.load_canary("tumor-classifier", "3")
    with pytest.raises(BackendError, match="put back to v2"):
        backend.promote("tumor-classifier")
    assert env_of(cluster, STABLE)["MODEL_VERSION"] == "2"


def test_a_route_whose_backend_refs_were_reordered_is_refused_not_misweighted(cluster):
    route = cluster.get("HTTPRoute", "model-server")
    with pytest.raises(BackendError, match="exactly"):
        weight_patch(route, (CANARY, STABLE, BASELINE), 10)
    # The test ops guard the window between reading the route and patching it.
    ops = weight_patch(route, (STABLE, CANARY, BASELINE), 10, 10)
    refs = route["spec"]["rules"][0]["backendRefs"]
    refs.reverse()
    path = cluster.folder / "httproute-model-server.yaml"
    from ruamel.yaml import YAML

    with path.open("w") as handle:
        YAML(typ="safe").dump(route, handle)
    with pytest.raises(BackendError, match="test failed"):
        cluster.patch("HTTPRoute", "model-server", "json", ops)
