"""Metrics sources: the server's raw samples and Prometheus' instant vectors become the same WindowData.

The Prometheus answers below are in the shape the HTTP API documents (`/api/v1/query`,
resultType vector); the observability issue runs these queries against a real Prometheus.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from pipelines.deploy.metrics import (
    LocalSamplesSource,
    MetricsUnavailable,
    PrometheusSource,
    parse_vector,
    prometheus_queries,
    window_from_records,
    window_from_vectors,
)


def record(ts, code=200, version="2", label="canary", latency=0.004, cls="benign"):
    return {
        "ts": ts,
        "version": version,
        "label": label,
        "latency_seconds": latency,
        "ok": code == 200,
        "code": code,
        "predicted_class": cls if code == 200 else None,
    }


def test_records_are_filtered_by_label_version_and_window_and_sorted_by_status():
    records = [
        record(10.0),
        record(10.5, code=500),
        record(11.0, code=400),  # a 400 to a valid input is compared between canary and baseline
        record(11.2, code=404),
        record(11.5, code=429),  # load shedding likewise
        record(12.0, version="1"),  # an older canary
        record(12.5, label="stable"),
        record(13.0, label="baseline"),
        record(20.0),  # after the window
    ]
    data = window_from_records(records, "canary", "2", 10.0, 20.0)
    assert (data.requests, data.errors, data.client_errors, data.shed) == (5, 1, 2, 1)
    assert (data.latencies, data.class_counts) == ([0.004], {"benign": 1})  # only the 200 has them
    baseline = window_from_records(records, "baseline", "2", 10.0, 20.0)
    assert (baseline.requests, baseline.errors) == (1, 0)


def test_a_malformed_record_makes_the_source_unavailable_not_a_pass():
    with pytest.raises(MetricsUnavailable, match="malformed"):
        window_from_records([{"ts": "soon", "label": "canary"}], "canary", "2", 0, 100)


def test_queries_use_catalogue_metrics_and_escape_label_values():
    queries = prometheus_queries('we"ird', "canary", "3", 60)
    assert queries["requests"] == (
        "sum by (code) (increase(aip_serving_requests_total"
        '{model="we\\"ird",label="canary",version="3",api!="explain"}[60s]))'
    )
    assert (
        "aip_serving_request_duration_seconds_bucket" in queries["latency"]
        and "by (le)" in queries["latency"]
    )
    assert "aip_serving_predictions_total" in queries["classes"] and "by (class)" in queries["classes"]
    from pipelines.observability.catalogue import known_series

    for query in queries.values():
        series = query.split("increase(")[1].split("{")[0]
        assert series in known_series()


def vector(*samples):
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": m, "value": [1767225600.0, v]} for m, v in samples],
        },
    }


def test_vectors_become_counts_errors_binned_latencies_and_classes():
    requests = parse_vector(
        vector(({"code": "200"}, "98.7"), ({"code": "500"}, "2.1"), ({"code": "400"}, "5")), "q"
    )
    latency = parse_vector(
        vector(
            ({"le": "0.005"}, "60"), ({"le": "0.01"}, "95.2"), ({"le": "0.025"}, "99"), ({"le": "+Inf"}, "99")
        ),
        "q",
    )
    classes = parse_vector(vector(({"class": "benign"}, "61.9"), ({"class": "malignant"}, "37")), "q")
    data = window_from_vectors(requests, latency, classes)
    assert (data.requests, data.errors, data.client_errors) == (106, 2, 5)  # 99 + 2 + 5
    assert data.latency_binned and len(data.latencies) == 99
    assert (
        data.latencies.count(0.005) == 60
        and data.latencies.count(0.01) == 35
        and data.latencies.count(0.025) == 4
    )
    assert data.class_counts == {"benign": 62, "malignant": 37}


@pytest.mark.parametrize(
    "body",
    [
        {"status": "error", "errorType": "bad_data", "error": "parse error"},
        {"status": "success", "data": {"resultType": "matrix", "result": []}},
        "not json at all",
    ],
)
def test_prometheus_errors_and_wrong_result_types_are_unavailable(body):
    with pytest.raises(MetricsUnavailable):
        parse_vector(body, "q")


def test_a_nan_sample_is_unavailable():
    with pytest.raises(MetricsUnavailable, match="NaN"):
        window_from_vectors(parse_vector(vector(({"code": "200"}, "NaN")), "q"), [], [])


class _Handler(BaseHTTPRequestHandler):
    answers: dict[str, object] = {}
    seen: list[dict[str, list[str]]] = []

    def do_GET(self):
        url = urlsplit(self.path)
        params = parse_qs(url.query)
        type(self).seen.append({"path": [url.path], **params})
        body = json.dumps(type(self).answers.get(url.path, {"error": "no"})).encode()
        self.send_response(200 if url.path in type(self).answers else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_prometheus_source_sends_the_query_at_the_window_end(http_server):
    # One answer for the three queries: each reads the label it groups by.
    _Handler.answers = {"/api/v1/query": vector(({"code": "200", "le": "0.01", "class": "benign"}, "10"))}
    _Handler.seen = []
    data = PrometheusSource(http_server).window("m", "canary", "2", 1000.0, 1030.0)
    assert (data.requests, data.latencies, data.class_counts) == (10, [0.01] * 10, {"benign": 10})
    assert len(_Handler.seen) == 3
    assert {tuple(s["time"]) for s in _Handler.seen} == {("1030.000",)}
    assert any("[30s]" in s["query"][0] for s in _Handler.seen)


def test_local_samples_source_reads_the_admin_endpoint_with_the_token(http_server):
    _Handler.answers = {"/v1/admin/models/m/samples": {"records": [record(1001.0), record(1002.0, code=503)]}}
    _Handler.seen = []
    data = LocalSamplesSource(http_server, "t0ken").window("m", "canary", "2", 1000.0, 1010.0)
    assert (data.requests, data.errors) == (2, 1)
    assert _Handler.seen[0]["label"] == ["canary"] and _Handler.seen[0]["since"] == ["1000.000000"]


def test_a_source_that_does_not_answer_is_unavailable():
    with pytest.raises(MetricsUnavailable, match="samples endpoint"):
        LocalSamplesSource("http://127.0.0.1:9", None, timeout=2).window("m", "canary", "2", 0, 1)
    with pytest.raises(MetricsUnavailable, match="Prometheus"):
        PrometheusSource("http://127.0.0.1:9", timeout=2).window("m", "canary", "2", 0, 1)
