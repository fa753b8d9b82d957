"""The done-when of the feature store: `aip run` trains the tumour model from Feast, and `aip serve`
answers a request that names a tumour with the prediction the model makes on its stored features.

The run is the session's `trained_registry` (tests/support/registry.py), shared with the serving,
deploy and e2e tests, so these tests add only a server start to the suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.registry import TUMOR, TrainedRegistry, mlflow_client, private_copy, registered_artifact
from tests.support.serve import Server, start_server

DATASET = "breast-cancer"
pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def trained_root(trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the session's trained registry, whose `aip run` prepared breast-cancer,
    materialised its feature store, and trained and registered the tumour model through it."""
    root = trained_registry.checked_root()
    assert trained_registry.models[TUMOR]["status"] == "trained+registered"
    assert "==> features: breast-cancer" in trained_registry.result.stdout + trained_registry.result.stderr
    return private_copy(root, tmp_path_factory.mktemp("features-run") / "repo")


@pytest.fixture(scope="module")
def server(trained_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(trained_root, tmp_path_factory.mktemp("features-serve"))
    yield running
    running.stop()


def _test_rows(root: Path) -> tuple[Any, Any]:
    """The test split read through the feature store, and the registered model."""
    from pipelines.artifacts import load
    from pipelines.data import load_split
    from pipelines.features import historical_frame, open_store
    from pipelines.repo.layout import Repo

    repo = Repo(root)
    frame = historical_frame(open_store(repo, DATASET), load_split(repo, DATASET, "test"), "label", "test")
    return frame, load(registered_artifact(root, TUMOR))


def test_the_run_trained_on_the_feature_store_and_fingerprinted_its_definitions(trained_root: Path) -> None:
    client = mlflow_client(trained_root)
    version = client.get_model_version_by_alias(TUMOR, "local")
    tags = client.get_run(version.run_id).data.tags
    assert len(tags["aip.fingerprint.features"]) == 64  # the feature repo's hash is part of the fingerprint
    assert (trained_root / ".aip" / "features" / "local" / "online.db").is_file()


def test_a_request_naming_tumours_gets_the_in_process_prediction_on_their_stored_features(
    trained_root: Path, server: Server
) -> None:
    frame, predictor = _test_rows(trained_root)
    ids = [int(i) for i in frame["tumour_id"][:40]]
    by_key = server.predict([{"tumour_id": i} for i in ids])
    assert by_key.status == 200, by_key.body
    columns = predictor.feature_names
    by_features = server.predict(frame[columns][:40].to_dict(orient="records"))
    assert by_features.status == 200
    expected = predictor.predict_proba(frame[columns][:40])
    served = np.array([p["probabilities"] for p in by_key.json()["predictions"]])
    assert np.allclose(served, expected, atol=1e-6)
    assert by_key.json() == by_features.json()  # the same server, the same vectors
    columnar = server.request("POST", f"/v1/models/{TUMOR}:predict", {"inputs": {"tumour_id": ids[:3]}})
    assert columnar.status == 200
    assert np.allclose(columnar.json()["outputs"]["probabilities"], expected[:3], atol=1e-6)


def test_an_unknown_tumour_is_a_400_naming_the_key(server: Server) -> None:
    answer = server.predict([{"tumour_id": 1}, {"tumour_id": 424242}])
    assert answer.status == 400
    assert "unknown tumour_id 424242" in answer.json()["error"]


@pytest.mark.parametrize(
    ("instances", "expected"),
    [
        ([{"tumour_id": "17"}], "tumour_id must be an integer"),
        ([{"tumour_id": 17, "mean radius": 1.0}], "send either the entity key alone"),
        ([{"tumour_id": 17}, {"mean radius": 1.0}], "send either the entity key alone"),
    ],
)
def test_a_malformed_entity_request_is_a_400_saying_why(
    server: Server, instances: list[Any], expected: str
) -> None:
    answer = server.predict(instances)
    assert answer.status == 400
    assert expected in answer.json()["error"]
