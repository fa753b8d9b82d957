"""Bad input against a live server: hypothesis property tests and a schemathesis fuzz run of the
server's own OpenAPI description. Every answer has the right status and an error message, the server
never answers 5xx, and it keeps serving."""

from __future__ import annotations

import copy
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from pipelines.serving._openapi import openapi_document
from tests.support.serve import ADMIN_TOKEN, MODEL, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BASE = f"/v1/models/{MODEL}"
live = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def server(served_repo, tmp_path_factory):
    """No fault injection here: a 5xx is always a bug."""
    running = start_server(served_repo, tmp_path_factory.mktemp("fuzz"), "--max-body-bytes", "65536")
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def features(server) -> list[str]:
    return server.request("GET", f"{BASE}/metadata").json()["metadata"]["aip"]["feature_names"]


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


def assert_error(answer, status: int) -> None:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/json"
    assert isinstance(answer.json()["error"], str) and answer.json()["error"]


@live
@given(body=json_values)
def test_arbitrary_json_bodies_are_answered_400(server, body):
    answer = server.request("POST", f"{BASE}:predict", raw=json.dumps(body, allow_nan=True).encode())
    assert_error(answer, 400)


@live
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_are_answered_400(server, data):
    assert_error(server.request("POST", f"{BASE}:predict", raw=data), 400)


@live
@given(data=st.data(), fmt=st.sampled_from(["instances", "inputs"]))
def test_rows_with_a_missing_or_mistyped_feature_are_400(server, features, data, fmt):
    rows = [dict.fromkeys(features, 1.0) for _ in range(data.draw(st.integers(1, 3)))]
    victim = data.draw(st.sampled_from(features))
    broken = data.draw(st.sampled_from(["missing", "string", "null", "list", "bool", "huge"]))
    for row in rows:
        if broken == "missing":
            del row[victim]
        else:
            row[victim] = {"string": "1.0", "null": None, "list": [1.0], "bool": True, "huge": 1e300}[broken]
    if fmt == "instances":
        body = {"instances": rows}
    else:
        body = {"inputs": {k: [r[k] for r in rows] for k in rows[0]}}
    answer = server.request("POST", f"{BASE}:predict", body)
    assert_error(answer, 400)
    assert victim in answer.json()["error"]


@live
@given(rows=st.integers(1, 4), both=st.booleans())
def test_valid_rows_in_either_format_predict_and_both_formats_at_once_are_400(server, features, rows, both):
    instances = [dict.fromkeys(features, 1.0) for _ in range(rows)]
    inputs = {k: [1.0] * rows for k in features}
    body = {"instances": instances, "inputs": inputs} if both else {"inputs": inputs}
    answer = server.request("POST", f"{BASE}:predict", body)
    if both:
        assert_error(answer, 400)
    else:
        assert answer.status == 200 and len(answer.json()["outputs"]["label"]) == rows


@live
@given(
    name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12),
    version=st.integers(2, 10**12),
    label=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10),
)
def test_unknown_models_versions_and_labels(server, features, name, version, label):
    body = {"instances": [dict.fromkeys(features, 1.0)]}
    if name != MODEL:
        assert_error(server.request("POST", f"/v1/models/{name}:predict", body), 404)
    assert_error(server.request("POST", f"{BASE}/versions/{version}:predict", body), 404)
    if label not in ("stable", "canary"):
        assert_error(server.request("POST", f"{BASE}/labels/{label}:predict", body), 400)


def test_an_oversize_body_is_413_and_the_server_keeps_serving(server, features):
    assert_error(server.request("POST", f"{BASE}:predict", raw=b"[" + b"1," * 40_000 + b"1]"), 413)
    body = {"instances": [dict.fromkeys(features, 1.0)]}
    assert server.request("POST", f"{BASE}:predict", body).status == 200
    assert server.request("GET", "/readyz").status == 200


# ---- schemathesis against /v1/openapi.json ----------------------------------------------------
# The document the server serves (checked below) is built by code; load it at import so schemathesis
# can parametrize one test per operation (its `from_fixture` loader relies on a pytest private that
# pytest 9 removed).
schema = schemathesis.openapi.from_dict(copy.deepcopy(openapi_document([MODEL])))


def test_the_fuzzed_document_is_the_one_the_server_serves(server):
    assert server.request("GET", "/v1/openapi.json").json() == openapi_document([MODEL])


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_the_openapi_description(case, server):
    case.call_and_validate(
        base_url=server.url,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            negative_data_rejection,
        ],
        timeout=30,
    )


def test_the_server_is_healthy_after_fuzzing(server, features):
    body = {"instances": [dict.fromkeys(features, 1.0)]}
    assert server.request("POST", f"{BASE}:predict", body).status == 200
