"""`aip serve` as a real process on 127.0.0.1 with a real registered tumor-classifier: REST API,
admin API (the contract `aip deploy` drives), metrics, logs."""

from __future__ import annotations

import concurrent.futures
import time

import pytest

from pipelines.observability import catalogue
from tests.support.serve import ADMIN_TOKEN, MODEL

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BASE = f"/v1/models/{MODEL}"
ADMIN = f"/v1/admin/models/{MODEL}"


@pytest.fixture(autouse=True)
def clean_state(server):
    """Every test starts with stable v1, no canary, no faults."""
    yield
    server.request("DELETE", f"{ADMIN}/canary", admin=True)
    server.request("DELETE", f"{ADMIN}/faults", admin=True)


# ---- TF Serving REST API --------------------------------------------------------------------
def test_status_lists_versions_as_strings_with_state_available(server):
    answer = server.request("GET", BASE)
    assert answer.status == 200
    assert answer.json() == {
        "model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }
    assert server.request("GET", f"{BASE}/versions/1").status == 200
    assert server.request("GET", f"{BASE}/labels/stable").json()["model_version_status"][0]["version"] == "1"


def test_metadata_describes_the_signature_with_every_feature(server, tumor_rows):
    meta = server.request("GET", f"{BASE}/metadata").json()
    assert meta["model_spec"] == {"name": MODEL, "signature_name": "", "version": "1"}
    signature = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert set(signature["inputs"]) == set(tumor_rows[0])
    assert signature["outputs"]["probabilities"]["tensor_shape"]["dim"][1]["size"] == "2"
    assert meta["metadata"]["aip"]["labels"] == ["benign", "malignant"]


def test_row_and_columnar_predict_agree_and_name_the_version_and_label(server, tumor_rows):
    rows = server.predict(tumor_rows[:5])
    assert rows.status == 200
    assert rows.headers["x-model-version"] == "1" and rows.headers["x-model-label"] == "stable"
    predictions = rows.json()["predictions"]
    assert len(predictions) == 5
    assert all(
        p["label"] in ("benign", "malignant") and abs(sum(p["probabilities"]) - 1) < 1e-5 for p in predictions
    )
    columns = {name: [row[name] for row in tumor_rows[:5]] for name in tumor_rows[0]}
    outputs = server.request("POST", f"{BASE}/versions/1:predict", {"inputs": columns}).json()["outputs"]
    assert outputs["label"] == [p["label"] for p in predictions]
    for a, b in zip(outputs["probabilities"], (p["probabilities"] for p in predictions), strict=True):
        assert a == pytest.approx(b, abs=1e-6)


def test_the_model_predicts_sklearn_breast_cancer_rows_like_their_labels(server):
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    rows = [dict(zip(data.feature_names, map(float, r), strict=True)) for r in data.data[:100]]
    labels = [p["label"] for p in server.predict(rows).json()["predictions"]]
    truth = [data.target_names[t] for t in data.target[:100]]
    assert sum(a == b for a, b in zip(labels, truth, strict=True)) >= 90


def test_classify_answers_scores_per_class(server, tumor_rows):
    answer = server.request("POST", f"{BASE}:classify", {"examples": tumor_rows[:2]})
    assert answer.status == 200
    results = answer.json()["results"]
    assert [[label for label, _ in r] for r in results] == [["benign", "malignant"]] * 2


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", "/v1/models/nope:predict", {"instances": [{}]}, 404, "Servable not found"),
        ("POST", f"{BASE}/versions/9:predict", {"instances": [{}]}, 404, "Specific(tumor-classifier, 9)"),
        ("POST", f"{BASE}/labels/beta:predict", {"instances": [{}]}, 400, "unknown version label 'beta'"),
        ("POST", f"{BASE}/labels/canary:predict", {"instances": [{}]}, 400, "'canary' of model"),
        ("POST", f"{BASE}:predict", {"instances": [{"mean radius": 1}]}, 400, "missing feature(s)"),
        ("POST", f"{BASE}:predict", {"instances": [], "inputs": {}}, 400, "both 'instances' and 'inputs'"),
        ("POST", f"{BASE}:regress", {"instances": [{}]}, 400, "is a classifier"),
        ("POST", f"{BASE}:interpret", {"instances": [{}]}, 404, "unknown method"),  # :explain exists
        ("GET", "/v1/models/nope", None, 404, "Servable not found"),
        ("GET", f"{BASE}/versions/7", None, 404, "Specific"),
        ("GET", "/v1/nothing", None, 404, "no route"),
    ],
)
def test_errors_use_tf_servings_status_mapping(server, method, path, body, status, message):
    answer = server.request(method, path, body)
    assert answer.status == status
    assert message in answer.json()["error"]


def test_malformed_json_is_400_and_the_server_keeps_serving(server, tumor_rows):
    answer = server.request("POST", f"{BASE}:predict", raw=b'{"instances": [')
    assert answer.status == 400 and "malformed JSON" in answer.json()["error"]
    assert server.predict(tumor_rows[:1]).status == 200


def test_health_and_readiness(server):
    assert server.request("GET", "/healthz").status == 200
    assert server.request("GET", "/readyz").json() == {"status": "ready"}


def test_openapi_document_is_served(server):
    doc = server.request("GET", "/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/v1/models/{name}:predict" in doc["paths"]


# ---- admin API: the contract aip deploy codes against -----------------------------------------
def test_admin_api_needs_the_admin_token(server):
    assert server.request("GET", ADMIN).status == 401
    assert server.request("GET", ADMIN, headers={"Authorization": "Bearer wrong"}).status == 401
    assert server.request("GET", ADMIN, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status == 200


def test_canary_lifecycle_load_split_promote(server, tumor_rows):
    state = server.request("GET", ADMIN, admin=True).json()
    assert state == {
        "model": MODEL,
        "stable": {"version": "1", "state": "AVAILABLE"},
        "canary": None,
        "baseline": None,
        "canary_weight": 0.0,
        "baseline_weight": 0.0,
    }

    loaded = server.request("POST", f"{ADMIN}/canary", {"version": "2"}, admin=True)
    assert loaded.status == 200, loaded.body
    assert loaded.json()["canary"] == {"version": "2", "state": "AVAILABLE"}
    assert loaded.json()["canary_weight"] == 0.0
    assert {server.predict(tumor_rows[:1]).headers["x-model-label"] for _ in range(20)} == {"stable"}
    assert (
        server.predict(tumor_rows[:1], path=f"{BASE}/labels/canary:predict").headers["x-model-version"] == "2"
    )

    since = time.time()
    assert (
        server.request("PUT", f"{ADMIN}/traffic", {"canary_weight": 0.5}, admin=True).json()["canary_weight"]
        == 0.5
    )
    seen = [server.predict(tumor_rows[:1]).headers for _ in range(60)]
    versions = {(h["x-model-label"], h["x-model-version"]) for h in seen}
    assert versions == {("stable", "1"), ("canary", "2")}

    records = server.request("GET", f"{ADMIN}/samples?label=canary&since={since}", admin=True).json()[
        "records"
    ]
    assert records and all(r["label"] == "canary" and r["version"] == "2" and r["ok"] for r in records)
    assert set(records[0]) >= {"ts", "version", "label", "latency_seconds", "ok", "code", "predicted_class"}
    assert all(r["ts"] > since and r["latency_seconds"] > 0 for r in records)

    promoted = server.request("POST", f"{ADMIN}/promote", admin=True)
    stable_v2 = {"version": "2", "state": "AVAILABLE"}
    assert promoted.json() == {
        "model": MODEL,
        "stable": stable_v2,
        "canary": None,
        "baseline": None,
        "canary_weight": 0.0,
        "baseline_weight": 0.0,
    }
    assert {server.predict(tumor_rows[:1]).headers["x-model-version"] for _ in range(10)} == {"2"}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        states = {
            s["version"]: s["state"] for s in server.request("GET", BASE).json()["model_version_status"]
        }
        if states.get("1") == "END":
            break
        time.sleep(0.1)
    assert states == {"2": "AVAILABLE", "1": "END"}

    # put version 1 back as stable for the other tests: load it as canary and promote it
    assert server.request("POST", f"{ADMIN}/canary", {"version": "1"}, admin=True).status == 200
    assert server.request("POST", f"{ADMIN}/promote", admin=True).json()["stable"]["version"] == "1"


def test_a_canary_that_fails_to_load_is_422_and_stable_keeps_serving(server, tumor_rows):
    answer = server.request("POST", f"{ADMIN}/canary", {"version": "3"}, admin=True)
    assert answer.status == 422
    assert "pickle" in answer.json()["error"]
    assert server.request("GET", ADMIN, admin=True).json()["canary"] is None
    assert server.predict(tumor_rows[:1]).status == 200
    missing = server.request("POST", f"{ADMIN}/canary", {"version": "99"}, admin=True)
    assert missing.status == 422 and "not in the registry" in missing.json()["error"]


def test_rollback_deletes_the_canary_and_its_weight(server, tumor_rows):
    server.request("POST", f"{ADMIN}/canary", {"version": "2"}, admin=True)
    server.request("PUT", f"{ADMIN}/traffic", {"canary_weight": 1.0}, admin=True)
    assert server.predict(tumor_rows[:1]).headers["x-model-label"] == "canary"
    state = server.request("DELETE", f"{ADMIN}/canary", admin=True).json()
    assert state["canary"] is None and state["canary_weight"] == 0.0
    assert server.predict(tumor_rows[:1]).headers["x-model-label"] == "stable"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("PUT", f"{ADMIN}/traffic", {"canary_weight": 0.5}, 409),  # no canary
        ("PUT", f"{ADMIN}/traffic", {"canary_weight": 1.5}, 400),
        ("POST", f"{ADMIN}/promote", None, 409),
        ("POST", f"{ADMIN}/canary", {"version": "1"}, 409),  # the stable version
        ("POST", f"{ADMIN}/canary", {"version": "two"}, 400),
        ("POST", f"{ADMIN}/canary", {}, 400),
        ("GET", f"{ADMIN}/samples?label=blue", None, 400),
        ("GET", f"{ADMIN}/samples?label=stable&since=yesterday", None, 400),
        ("GET", "/v1/admin/models/nope", None, 404),
        ("POST", "/v1/admin/rollout-events", {"model": MODEL, "env": "local", "kind": "nope"}, 400),
    ],
)
def test_admin_errors(server, method, path, body, status):
    answer = server.request(method, path, body, admin=True)
    assert answer.status == status, answer.body
    assert answer.json()["error"]


def test_injected_faults_fail_or_slow_the_label_they_target(server, tumor_rows):
    server.request("POST", f"{ADMIN}/canary", {"version": "2"}, admin=True)
    faults = {"label": "canary", "error_rate": 1.0, "extra_latency_ms": 150}
    assert server.request("PUT", f"{ADMIN}/faults", faults, admin=True).status == 200
    canary = server.predict(tumor_rows[:1], path=f"{BASE}/labels/canary:predict")
    assert canary.status == 500 and canary.json() == {"error": "injected fault"}
    started = time.perf_counter()
    assert server.predict(tumor_rows[:1]).status == 200  # weight 0: stable, unaffected
    assert time.perf_counter() - started < 0.15
    server.request("PUT", f"{ADMIN}/faults", {"label": "canary", "extra_latency_ms": 150}, admin=True)
    started = time.perf_counter()
    assert server.predict(tumor_rows[:1], path=f"{BASE}/labels/canary:predict").status == 200
    assert time.perf_counter() - started >= 0.15
    records = server.request("GET", f"{ADMIN}/samples?label=canary", admin=True).json()["records"]
    assert records[-2]["code"] == 500 and not records[-2]["ok"] and records[-2]["predicted_class"] is None
    assert records[-1]["latency_seconds"] >= 0.15


# ---- metrics and logs -------------------------------------------------------------------------
def test_metrics_export_the_server_catalogue_on_both_paths(server, tumor_rows):
    server.predict(tumor_rows[:3])
    for path in ("/metrics", "/monitoring/prometheus/metrics"):
        answer = server.request("GET", path)
        assert answer.status == 200 and answer.headers["content-type"].startswith("text/plain")
        text = answer.body.decode()
        for metric in catalogue.CATALOGUE:
            if metric.source == "server" and metric.name != "aip_serving_samples_written_total":
                assert f"# TYPE {metric.name.removesuffix('_total')}" in text, metric.name
        assert (
            f'aip_serving_requests_total{{api="predict",code="200",label="stable",model="{MODEL}",version="1"}}'
            in text
        )
        assert f'aip_serving_loaded_versions{{label="stable",model="{MODEL}",version="1"}} 1.0' in text
        assert "_created" not in text


def test_rollout_events_are_re_exported_as_controller_metrics(server):
    for event in (
        {"model": MODEL, "env": "local", "kind": "weight", "weight": 0.25},
        {"model": MODEL, "env": "local", "kind": "analysis", "check": "error_rate", "result": "pass"},
        {"model": MODEL, "env": "local", "kind": "verdict", "verdict": "promoted"},
    ):
        assert server.request("POST", "/v1/admin/rollout-events", event, admin=True).status == 204
    text = server.request("GET", "/metrics").body.decode()
    assert f'aip_rollout_canary_weight_ratio{{env="local",model="{MODEL}"}} 0.25' in text
    assert (
        f'aip_rollout_analysis_total{{check="error_rate",env="local",model="{MODEL}",result="pass"}} 1.0'
        in text
    )
    assert f'aip_rollout_verdicts_total{{env="local",model="{MODEL}",verdict="promoted"}} 1.0' in text
    assert "aip_rollout_last_verdict_timestamp_seconds{" in text


def test_each_request_logs_one_ecs_json_line_without_payload_or_token(server, tumor_rows):
    answer = server.predict(tumor_rows[:1], headers={"X-Request-Id": "trace-123"}, admin=True)
    assert answer.headers["x-request-id"] == "trace-123"
    time.sleep(0.2)
    # ECS JSON (docs/observability.md): the request id, model, version and label under their ECS names.
    lines = [
        line
        for line in server.log_lines()
        if line.get("http", {}).get("request", {}).get("id") == "trace-123"
    ]
    assert len(lines) == 1
    line = lines[0]
    assert line["service"] == {"name": "aip-serve", "environment": "local"}
    assert line["labels"]["model"] == MODEL
    assert line["labels"]["model_version"] == "1" and line["labels"]["model_label"] == "stable"
    assert line["http"]["response"]["status_code"] == 200
    assert line["event"]["duration"] > 0
    log = server.log.read_text()
    assert ADMIN_TOKEN not in log
    assert repr(tumor_rows[0]["mean radius"]) not in log


def test_concurrent_clients_are_batched(server, tumor_rows):
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: server.predict(tumor_rows[i % 40 : i % 40 + 1]), range(200)))
    assert {a.status for a in answers} == {200}
    series = f'{{model="{MODEL}",version="1"}}'
    values = {
        line.split("{")[0]: float(line.rsplit(" ", 1)[1])
        for line in server.request("GET", "/metrics").body.decode().splitlines()
        if line.startswith("aip_serving_batch_size_") and series in line and "_bucket" not in line
    }
    assert values["aip_serving_batch_size_sum"] > values["aip_serving_batch_size_count"]  # batches of > 1 row
