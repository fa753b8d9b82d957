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


def test_a_canary_rollout_moves_route_weights_and_pins_versions(cluster):
    backend = KubernetesBackend(cluster)
    assert weights(cluster) == [("model-server-stable", 100), ("model-server-canary", 0)]

    backend.load_canary("tumor-classifier", "3")
    assert env_of(cluster, "model-server-canary")["MODEL_VERSION"] == "3"
    assert env_of(cluster, "model-server-canary")["MODEL_LABEL"] == "canary"  # the rest of the env is kept
    assert cluster.get("Deployment", "model-server-canary")["spec"]["replicas"] == 1

    backend.set_weight("tumor-classifier", 0.1)
    assert weights(cluster) == [("model-server-stable", 90), ("model-server-canary", 10)]
    validate_route(cluster)
    status = backend.status("tumor-classifier")
    assert status.canary == "3" and status.weight == pytest.approx(0.1)

    backend.set_weight("tumor-classifier", 0.5)
    backend.promote("tumor-classifier")
    assert env_of(cluster, "model-server-stable")["MODEL_VERSION"] == "3"
    assert weights(cluster) == [("model-server-stable", 100), ("model-server-canary", 0)]
    assert cluster.get("Deployment", "model-server-canary")["spec"]["replicas"] == 0
    assert backend.status("tumor-classifier").canary is None
    validate_route(cluster)


def test_a_rollback_sends_everything_to_stable_and_scales_the_canary_down(cluster):
    backend = KubernetesBackend(cluster)
    backend.load_canary("tumor-classifier", "4")
    backend.set_weight("tumor-classifier", 0.5)
    backend.rollback("tumor-classifier")
    assert weights(cluster) == [("model-server-stable", 100), ("model-server-canary", 0)]
    assert cluster.get("Deployment", "model-server-canary")["spec"]["replicas"] == 0
    assert "MODEL_VERSION" not in env_of(cluster, "model-server-stable")


def test_a_route_whose_backend_refs_were_reordered_is_refused_not_misweighted(cluster):
    route = cluster.get("HTTPRoute", "model-server")
    with pytest.raises(BackendError, match="exactly"):
        weight_patch(route, "model-server-canary", "model-server-stable", 10)
    # The test ops guard the window between reading the route and patching it.
    ops = weight_patch(route, "model-server-stable", "model-server-canary", 10)
    refs = route["spec"]["rules"][0]["backendRefs"]
    refs.reverse()
    path = cluster.folder / "httproute-model-server.yaml"
    from ruamel.yaml import YAML

    with path.open("w") as handle:
        YAML(typ="safe").dump(route, handle)
    with pytest.raises(BackendError, match="test failed"):
        cluster.patch("HTTPRoute", "model-server", "json", ops)
