"""Request parsing (row and columnar formats, classify) and the error each malformed body maps to."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.serving import protocol as req
from pipelines.serving.errors import Code, ServingError

FEATURES = ["a", "b", "c"]


def parse(body, kind="tabular"):
    return req.parse_predict(body, kind, FEATURES if kind == "tabular" else None)


def rejected(body, kind="tabular") -> str:
    with pytest.raises(ServingError) as exc:
        parse(body, kind)
    assert exc.value.code is Code.INVALID_ARGUMENT
    return exc.value.message


def test_tabular_rows_become_a_matrix_in_the_models_feature_order():
    model_input = parse({"instances": [{"c": 3, "a": 1, "b": 2.5}, {"a": 4, "b": 5, "c": 6}]})
    assert model_input.rows == 2 and not model_input.columnar
    np.testing.assert_array_equal(model_input.payload, np.array([[1, 2.5, 3], [4, 5, 6]], dtype=np.float32))


def test_tabular_columns_give_the_same_matrix_as_rows():
    rows = parse({"instances": [{"a": 1, "b": 2, "c": 3}, {"a": 4, "b": 5, "c": 6}]})
    columns = parse({"inputs": {"a": [1, 4], "b": [2, 5], "c": [3, 6]}})
    assert columns.columnar
    np.testing.assert_array_equal(rows.payload, columns.payload)


def test_text_accepts_strings_objects_and_columns():
    assert parse({"instances": ["hi", {"text": "yo"}]}, "text").payload == ["hi", "yo"]
    assert parse({"inputs": ["hi"]}, "text").payload == ["hi"]
    assert parse({"inputs": {"text": ["hi", "yo"]}}, "text").payload == ["hi", "yo"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"instances": [{"a": 1, "b": 2, "c": 3}], "inputs": {"a": [1]}}, "both 'instances' and 'inputs'"),
        ({}, "missing 'instances'"),
        ({"instances": []}, "empty"),
        ({"instances": {"a": 1}}, "must be a list"),
        ({"instances": [{"a": 1, "b": 2}]}, "missing feature(s) 'c'"),
        ({"instances": [{"a": 1, "b": 2, "c": 3, "d": 4}]}, "unknown feature(s) 'd'"),
        ({"instances": [{"a": "1", "b": 2, "c": 3}]}, "expected a number, got a string"),
        ({"instances": [{"a": True, "b": 2, "c": 3}]}, "expected a number, got a boolean"),
        ({"instances": [{"a": 1e39, "b": 2, "c": 3}]}, "float32 range"),
        ({"instances": [[1, 2, 3]]}, "expected an object"),
        ({"inputs": {"a": [1, 2], "b": [1], "c": [1]}}, "same number of values"),
        ({"inputs": {"a": 1, "b": [1], "c": [1]}}, "expected a list of numbers"),
        ({"inputs": [1, 2, 3]}, "must be an object"),
        ({"instances": [{"a": 1, "b": 2, "c": 3}], "signature_name": "other"}, "unknown signature_name"),
        ({"instances": [{"a": 1, "b": 2, "c": 3}], "extra": 1}, "unknown field(s) 'extra'"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_malformed_tabular_bodies_are_invalid_arguments_that_say_what_is_wrong(body, message):
    assert message in rejected(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"instances": [1]}, "expected a string, got a number"),
        ({"instances": [{"txt": "x"}]}, "expected {'text': string}"),
        ({"inputs": "one string"}, "must be a list of strings"),
        ({"inputs": {"text": ["a"], "other": ["b"]}}, "'inputs' must be a list of strings or"),
    ],
)
def test_malformed_text_bodies_are_invalid_arguments(body, message):
    assert message in rejected(body, "text")


def test_json_with_nan_or_infinity_literals_is_refused():
    for literal in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ServingError, match="malformed JSON"):
            req.decode_json(f'{{"instances": [{{"a": {literal}}}]}}'.encode())


def test_empty_and_broken_json_are_invalid_arguments():
    for body in (b"", b"{", b"\xff\xfe", b"[" * 100_000):
        with pytest.raises(ServingError) as exc:
            req.decode_json(body)
        assert exc.value.code is Code.INVALID_ARGUMENT


def test_classify_merges_context_into_each_example():
    model_input = req.parse_classify(
        {"context": {"a": 1, "b": 2}, "examples": [{"c": 3}, {"c": 4, "a": 9}]}, "tabular", FEATURES
    )
    np.testing.assert_array_equal(model_input.payload, np.array([[1, 2, 3], [9, 2, 4]], dtype=np.float32))


def test_responses_have_tf_serving_shapes():
    proba = np.array([[0.2, 0.8], [0.9, 0.1]])
    rows = req.predict_response(proba, ["x", "y"], columnar=False)
    assert rows == {
        "predictions": [
            {"label": "y", "probabilities": [0.2, 0.8]},
            {"label": "x", "probabilities": [0.9, 0.1]},
        ]
    }
    columns = req.predict_response(proba, ["x", "y"], columnar=True)
    assert columns == {"outputs": {"label": ["y", "x"], "probabilities": [[0.2, 0.8], [0.9, 0.1]]}}
    assert req.classify_response(proba[:1], ["x", "y"]) == {"results": [[["x", 0.2], ["y", 0.8]]]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(body=json_values, kind=st.sampled_from(["text", "tabular"]))
def test_any_json_body_is_either_parsed_or_an_invalid_argument(body, kind):
    """Property: arbitrary JSON never crashes the parser with anything but INVALID_ARGUMENT."""
    try:
        model_input = parse(json.loads(json.dumps(body)), kind)
    except ServingError as exc:
        assert exc.code is Code.INVALID_ARGUMENT
        assert exc.message
    else:
        assert model_input.rows >= 1
        if kind == "tabular":
            assert model_input.payload.shape == (model_input.rows, len(FEATURES))
            assert np.isfinite(model_input.payload).all()
        else:
            assert all(isinstance(t, str) for t in model_input.payload)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_any_bytes_either_decode_as_json_or_are_an_invalid_argument(data):
    try:
        req.decode_json(data)
    except ServingError as exc:
        assert exc.code is Code.INVALID_ARGUMENT
