"""`:explain` on a real `aip serve`: attributions per instance and class, a rate limit answered 429
with Retry-After, and clear errors for what cannot be explained."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pipelines.config.model import ExplainServing
from pipelines.explain import TabularExplainer, background_matrix
from pipelines.serving._explain import ExplainEndpoint, ExplainSetup, TokenBucket
from pipelines.serving.errors import Code, ServingError
from tests.support.registry import TUMOR, private_copy
from tests.support.repo import edit_yaml
from tests.support.serve import start_server

EXPLAIN = f"/v1/models/{TUMOR}:explain"
# one token per 20 s: the bucket stays drained over the test however slow the first :explain is
LIMITS = {"rate_per_second": 0.05, "burst": 4, "max_instances": 2, "max_concurrent": 1, "max_evals": 256}


@pytest.fixture(scope="module")
def server(trained_root: Path, tmp_path_factory: pytest.TempPathFactory):
    root = private_copy(trained_root, tmp_path_factory.mktemp("explain") / "repo", keep=[TUMOR])

    def limits(data):
        data["environments"]["local"].setdefault("serving", {})["explain"] = LIMITS

    edit_yaml(root / "models" / TUMOR / "model.yaml", limits)
    running = start_server(root, tmp_path_factory.mktemp("logs"))
    yield running
    running.stop()


@pytest.mark.slow
@pytest.mark.integration
def test_explain_answers_attributions_then_429_beyond_the_rate_limit(server, tumor_rows):
    predicted = server.predict(tumor_rows[:2]).json()["predictions"]
    answer = server.request("POST", EXPLAIN, {"instances": tumor_rows[:2]}, timeout=120)
    assert answer.status == 200, answer.body
    body = answer.json()
    assert body["output"] == "probability" and body["background"]["source"] == "training split"
    for explanation, prediction in zip(body["explanations"], predicted, strict=True):
        assert explanation["label"] == prediction["label"]
        malignant = explanation["attributions"]["malignant"]
        assert len(malignant) == 30
        total = explanation["expected_value"]["malignant"] + sum(malignant.values())
        assert total == pytest.approx(prediction["probabilities"][1], abs=1e-4)  # additivity
    # burst 4: two instances used, two left; the next two-instance request drains it, the one after waits
    assert server.request("POST", EXPLAIN, {"instances": tumor_rows[2:4]}).status == 200
    limited = server.request("POST", EXPLAIN, {"instances": tumor_rows[4:6]})
    assert limited.status == 429 and "rate limit" in limited.json()["error"]
    assert int(limited.headers["retry-after"]) >= 1
    assert server.predict(tumor_rows[:1]).status == 200  # predictions are never limited by :explain
    metrics = server.request("GET", "/metrics").body.decode()
    assert 'api="explain",code="429"' in metrics and 'api="explain",code="200"' in metrics


@pytest.mark.slow
@pytest.mark.integration
def test_explain_refuses_bad_and_too_many_instances_like_predict(server, tumor_rows):
    bad = server.request("POST", EXPLAIN, {"instances": [{"mean radius": 1.0}]})
    assert bad.status == 400 and "missing feature(s)" in bad.json()["error"]
    many = server.request("POST", EXPLAIN, {"instances": tumor_rows[:3]})
    assert many.status == 400 and "at most 2 instances" in many.json()["error"]
    missing = server.request("POST", f"/v1/models/{TUMOR}/versions/9:explain", {"instances": tumor_rows[:1]})
    assert missing.status == 404


class _Version:
    """What the endpoint reads of a loaded version (a LoadedVersion without its batcher)."""

    def __init__(self, predictor):
        self.predictor, self.kind, self.version = predictor, predictor.kind, "1"
        self.feature_names, self.labels = predictor.feature_names, predictor.labels


class _Service:
    env = "local"


def test_a_model_that_cannot_be_explained_answers_422_naming_why(tumour):
    import dataclasses

    odd = dataclasses.replace(tumour.predictor.manifest, kind="image")
    version = _Version(type(tumour.predictor)(odd, tumour.predictor.model, path=tumour.predictor.path))
    endpoint = ExplainEndpoint(_Service())
    with pytest.raises(ServingError) as caught:
        endpoint._explainer(ExplainSetup(ExplainServing()), TUMOR, version)
    assert caught.value.code is Code.UNPROCESSABLE
    assert "cannot be explained" in caught.value.message and "kind 'image'" in caught.value.message


def test_explain_switched_off_in_model_yaml_answers_403(tumour, tumor_rows):
    endpoint = ExplainEndpoint(_Service())
    setup = ExplainSetup(ExplainServing(enabled=False))
    with pytest.raises(ServingError) as caught:
        asyncio.run(endpoint._answer(setup, TUMOR, _Version(tumour.predictor), {"instances": tumor_rows[:1]}))
    assert caught.value.code is Code.PERMISSION_DENIED and "explain.enabled: false" in caught.value.message


def test_the_token_bucket_refills_at_its_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=4, clock=lambda: now[0])
    assert bucket.take(4) == 0.0
    assert bucket.take(1) == pytest.approx(0.5)  # one token in half a second
    now[0] = 1.0
    assert bucket.take(2) == 0.0 and bucket.take(1) == pytest.approx(0.5)


def test_the_server_and_the_report_explain_alike(tumour):
    names = tumour.predictor.feature_names
    explainer = TabularExplainer(tumour.predictor, background_matrix(tumour.train, names, 10), source="t")
    row = tumour.predictor.feature_matrix(tumour.test.iloc[:1])
    answer = explainer.explain(row).instance(0)
    assert set(answer) == {"label", "probabilities", "expected_value", "attributions"}
    assert list(answer["attributions"]["benign"]) == names
