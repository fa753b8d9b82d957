"""Parse TF Serving request bodies (row `instances`, columnar `inputs`, classify `examples`) into
model inputs, and build the responses. Every malformed body is a ServingError(INVALID_ARGUMENT)
whose message says what was expected."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.serving.errors import Code, ServingError

__all__ = [
    "SIGNATURE",
    "TEXT_INPUT",
    "ModelInput",
    "classify_response",
    "decode_json",
    "parse_classify",
    "parse_predict",
    "predict_response",
    "tabular_matrix",
    "text_list",
]

SIGNATURE = "serving_default"
TEXT_INPUT = "text"
MAX_INSTANCES = 10_000  # per request: a bound on work per request beside the body-size limit
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class ModelInput:
    """What the batcher runs: a list of strings (text) or a float32 matrix (tabular)."""

    payload: Any
    rows: int
    columnar: bool


def _bad(message: str) -> ServingError:
    return ServingError(Code.INVALID_ARGUMENT, message)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a valid JSON number")


def decode_json(body: bytes) -> Any:
    """JSON as the RFC defines it: NaN and Infinity literals are refused."""
    if not body:
        raise _bad("empty request body; expected a JSON object")
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise _bad(f"malformed JSON: {exc}") from None


def _check_signature(body: Mapping[str, Any]) -> None:
    signature = body.get("signature_name", SIGNATURE)
    if signature != SIGNATURE:
        raise _bad(f"unknown signature_name {signature!r}; this model has {SIGNATURE!r}")


def _check_count(n: int, what: str) -> None:
    if n == 0:
        raise _bad(f"'{what}' is empty; send at least one")
    if n > MAX_INSTANCES:
        raise _bad(f"'{what}' has {n} items; at most {MAX_INSTANCES} per request")


def text_list(items: Sequence[Any], what: str) -> list[str]:
    """Text instances: strings or {"text": string} objects."""
    texts: list[str] = []
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            keys = set(item)
            if keys != {TEXT_INPUT}:
                raise _bad(f"{what}[{i}]: expected {{'{TEXT_INPUT}': string}}, got keys {sorted(keys)}")
            item = item[TEXT_INPUT]
        if not isinstance(item, str):
            raise _bad(f"{what}[{i}]: expected a string, got {_type(item)}")
        texts.append(item)
    return texts


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"{where}: expected a number, got {_type(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or abs(number) > _FLOAT32_MAX:
        raise _bad(f"{where}: expected a finite number within float32 range")
    return number


def _check_keys(keys: Any, names: Sequence[str], where: str) -> None:
    missing = [n for n in names if n not in keys]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise _bad(f"{where}: missing feature(s) {', '.join(map(repr, missing[:3]))}{more}")
    extra = sorted(set(keys) - set(names))
    if extra:
        raise _bad(f"{where}: unknown feature(s) {', '.join(map(repr, extra[:3]))}; see the metadata")


def tabular_matrix(rows: Sequence[Any], names: Sequence[str], what: str) -> np.ndarray:
    """Row instances (objects keyed by feature name) as a float32 matrix in the model's order."""
    matrix = np.empty((len(rows), len(names)), dtype=np.float32)
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise _bad(f"{what}[{i}]: expected an object of feature name to number, got {_type(row)}")
        _check_keys(row, names, f"{what}[{i}]")
        for j, name in enumerate(names):
            matrix[i, j] = _number(row[name], f"{what}[{i}][{name!r}]")
    if not np.isfinite(matrix).all():
        raise _bad(f"{what}: a value overflows float32")
    return matrix


def _tabular_columns(columns: Mapping[str, Any], names: Sequence[str]) -> np.ndarray:
    _check_keys(columns, names, "inputs")
    lengths = set()
    for name in names:
        column = columns[name]
        if not isinstance(column, list):
            raise _bad(f"inputs[{name!r}]: expected a list of numbers, got {_type(column)}")
        lengths.add(len(column))
    if len(lengths) != 1:
        raise _bad(f"inputs: every feature needs the same number of values, got lengths {sorted(lengths)}")
    n = lengths.pop()
    _check_count(n, "inputs")
    matrix = np.empty((n, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        for i, value in enumerate(columns[name]):
            matrix[i, j] = _number(value, f"inputs[{name!r}][{i}]")
    if not np.isfinite(matrix).all():
        raise _bad("inputs: a value overflows float32")
    return matrix


def _request_object(body: Any, fields: set[str], expected: str) -> Mapping[str, Any]:
    """The body as a JSON object with only `fields` (and signature_name); `expected` names them."""
    if not isinstance(body, Mapping):
        raise _bad(f"request body must be a JSON object with {expected}, got {_type(body)}")
    _check_signature(body)
    unknown = sorted(set(body) - fields - {"signature_name"})
    if unknown:
        raise _bad(f"unknown field(s) {', '.join(map(repr, unknown))}; expected {expected}")
    return body


def parse_predict(body: Any, kind: str, feature_names: Sequence[str] | None) -> ModelInput:
    """A :predict body (already decoded JSON) as model input."""
    body = _request_object(body, {"instances", "inputs"}, "'instances' or 'inputs'")
    if "instances" in body and "inputs" in body:
        raise _bad("request has both 'instances' and 'inputs'; send exactly one")
    if "instances" in body:
        items = body["instances"]
        if not isinstance(items, list):
            raise _bad(f"'instances' must be a list, got {_type(items)}")
        _check_count(len(items), "instances")
        if kind == "text":
            return ModelInput(text_list(items, "instances"), len(items), columnar=False)
        return ModelInput(tabular_matrix(items, feature_names or [], "instances"), len(items), columnar=False)
    if "inputs" not in body:
        raise _bad("missing 'instances' (row format) or 'inputs' (columnar format)")
    inputs = body["inputs"]
    if kind == "text":
        if isinstance(inputs, Mapping):
            if set(inputs) != {TEXT_INPUT}:
                raise _bad(f"'inputs' must be a list of strings or {{'{TEXT_INPUT}': [strings]}}")
            inputs = inputs[TEXT_INPUT]
        if not isinstance(inputs, list):
            raise _bad(f"'inputs' must be a list of strings, got {_type(inputs)}")
        _check_count(len(inputs), "inputs")
        return ModelInput(text_list(inputs, "inputs"), len(inputs), columnar=True)
    if not isinstance(inputs, Mapping):
        raise _bad(f"'inputs' must be an object of feature name to list of numbers, got {_type(inputs)}")
    matrix = _tabular_columns(inputs, feature_names or [])
    return ModelInput(matrix, len(matrix), columnar=True)


def parse_classify(body: Any, kind: str, feature_names: Sequence[str] | None) -> ModelInput:
    """A :classify body: `examples` (objects) merged with an optional `context` object."""
    body = _request_object(body, {"examples", "context"}, "'examples' and optional 'context'")
    examples, context = body.get("examples"), body.get("context", {})
    if not isinstance(examples, list):
        raise _bad("'examples' must be a list of objects")
    if not isinstance(context, Mapping):
        raise _bad(f"'context' must be an object, got {_type(context)}")
    _check_count(len(examples), "examples")
    merged = []
    for i, example in enumerate(examples):
        if not isinstance(example, Mapping):
            raise _bad(f"examples[{i}]: expected an object, got {_type(example)}")
        merged.append({**context, **example})
    if kind == "text":
        return ModelInput(text_list(merged, "examples"), len(merged), columnar=False)
    return ModelInput(tabular_matrix(merged, feature_names or [], "examples"), len(merged), columnar=False)


def predict_response(proba: np.ndarray, labels: Sequence[str], columnar: bool) -> dict[str, Any]:
    classes = [labels[i] for i in proba.argmax(axis=1)]
    rows = proba.astype(float).tolist()
    if columnar:
        return {"outputs": {"label": classes, "probabilities": rows}}
    return {"predictions": [{"label": c, "probabilities": p} for c, p in zip(classes, rows, strict=True)]}


def classify_response(proba: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    return {"results": [[[label, float(p)] for label, p in zip(labels, row, strict=True)] for row in proba]}


def _type(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)
