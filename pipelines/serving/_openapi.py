"""The OpenAPI 3.1 description of the REST API, served at /v1/openapi.json (schemathesis fuzzes it)."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

_JSON = "application/json"


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Invalid argument (malformed JSON, wrong shapes or types, missing fields, unknown label)",
        401: "Missing or wrong bearer token",
        403: "Admin API, fault injection or :explain (for this model) disabled",
        404: "Unknown model, version or path",
        405: "Method not allowed on this path",
        409: "Conflicting state (no canary, another canary loaded)",
        413: "Request body larger than the limit",
        422: "The version could not be loaded, or (:explain) cannot be explained",
        429: "Batching queue full (RESOURCE_EXHAUSTED), or the :explain rate limit (see Retry-After)",
        500: "Injected fault (fault injection enabled) or server bug",
        503: "Version not available (loading, unloading)",
    }
    return {str(code): _json(_ref("Error"), text[code]) for code in codes}


def _params(
    *names: str, query: tuple[tuple[str, bool], ...] = (), examples: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for n in names:
        param: dict[str, Any] = {"name": n, "in": "path", "required": True}
        param["schema"] = {"type": "string", "minLength": 1}
        if examples and n in examples:
            param["example"] = examples[n]
        params.append(param)
    params += [{"name": n, "in": "query", "required": r, "schema": {"type": "string"}} for n, r in query]
    return params


def _prefixes() -> list[tuple[str, tuple[str, ...]]]:
    return [
        ("/v1/models/{name}", ("name",)),
        ("/v1/models/{name}/versions/{version}", ("name", "version")),
        ("/v1/models/{name}/labels/{label}", ("name", "label")),
    ]


_ENTITY_KEYS = (
    "Extension of the TF Serving API (docs/features.md): for a model whose dataset has a feature store, "
    'a row may be the entity key alone, e.g. `{"instances": [{"tumour_id": 17}]}` or columnar '
    '`{"inputs": {"tumour_id": [17, 18]}}` (and a :classify example); the server reads the features '
    "from the online store. An entity key the store does not hold answers 400 naming it."
)


def openapi_document(models: list[str] | None = None, prompts: list[str] | None = None) -> dict[str, Any]:
    """The document; `models` (the served names) become the examples of the `name` parameter, and
    `prompts` (the served prompts) the example of a chat request's `model`."""
    ex = {"name": (models or ["my-model"])[0], "version": "1", "label": "stable"}
    predict_errors = _errors(400, 401, 404, 413, 429, 500, 503)
    paths: dict[str, Any] = {}
    for prefix, names in _prefixes():
        paths[f"{prefix}:predict"] = {
            "post": {
                "summary": "Predict (row `instances` or columnar `inputs`)",
                "description": _ENTITY_KEYS,
                "operationId": "predict" + "".join(n.title() for n in names[1:]),
                "parameters": _params(*names, examples=ex),
                "security": [{}, {"bearer": []}],
                "requestBody": {"required": True, "content": {_JSON: {"schema": _ref("PredictRequest")}}},
                "responses": {"200": _json(_ref("PredictResponse"), "Predictions"), **predict_errors},
            }
        }
        paths[f"{prefix}:classify"] = {
            "post": {
                "summary": "Classify (TF Serving classify format)",
                "operationId": "classify" + "".join(n.title() for n in names[1:]),
                "parameters": _params(*names, examples=ex),
                "security": [{}, {"bearer": []}],
                "requestBody": {"required": True, "content": {_JSON: {"schema": _ref("ClassifyRequest")}}},
                "responses": {"200": _json(_ref("ClassifyResponse"), "Scores per class"), **predict_errors},
            }
        }
        paths[f"{prefix}:explain"] = {
            "post": {
                "summary": "Explain (extension of TF Serving): SHAP attributions per class of each instance",
                "description": "A :predict body; answers per instance the contribution of each feature "
                "(tabular) or token (text) to each class probability. Rate-limited per model "
                "(model.yaml serving.explain): 429 with Retry-After beyond it. docs/serving.md.",
                "operationId": "explain" + "".join(n.title() for n in names[1:]),
                "parameters": _params(*names, examples=ex),
                "security": [{}, {"bearer": []}],
                "requestBody": {"required": True, "content": {_JSON: {"schema": _ref("PredictRequest")}}},
                "responses": {
                    "200": _json(_ref("ExplainResponse"), "Attributions per instance and class"),
                    **_errors(400, 401, 403, 404, 413, 422, 429, 500, 503),
                },
            }
        }
        paths[prefix] = {
            "get": {
                "summary": "Version status",
                "operationId": "status" + "".join(n.title() for n in names[1:]),
                "parameters": _params(*names, examples=ex),
                "responses": {
                    "200": _json(_ref("StatusResponse"), "Version status"),
                    **_errors(400, 404, 503),
                },
            }
        }
        paths[f"{prefix}/metadata"] = {
            "get": {
                "summary": "Signature metadata",
                "operationId": "metadata" + "".join(n.title() for n in names[1:]),
                "parameters": _params(*names, examples=ex),
                "responses": {"200": _json({"type": "object"}, "Signature"), **_errors(400, 404, 503)},
            }
        }
    plain = {
        "description": "Prometheus text format",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
    paths["/healthz"] = {
        "get": {"operationId": "healthz", "responses": {"200": _json({"type": "object"}, "Alive")}}
    }
    paths["/readyz"] = {
        "get": {
            "operationId": "readyz",
            "responses": {
                "200": _json({"type": "object"}, "Ready"),
                "503": _json({"type": "object"}, "Not ready"),
            },
        }
    }
    paths["/metrics"] = {"get": {"operationId": "metrics", "responses": {"200": plain}}}
    paths["/monitoring/prometheus/metrics"] = {
        "get": {"operationId": "tfsMetrics", "responses": {"200": plain}}
    }
    paths.update(_chat_paths((prompts or ["platform-assistant"])[0]))
    paths.update(_admin_paths(ex))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "aip serve",
            "version": "1",
            "description": "TensorFlow Serving compatible REST API of the platform's model server "
            "(docs/serving.md), OpenAI compatible chat completions for its prompts, and its admin API.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _chat_errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Invalid request (malformed JSON, a field of the wrong type or value, the last message not "
        "the user's, an unsupported feature such as tools)",
        401: "Missing or wrong bearer token",
        404: "No served prompt of that name (`model`)",
        413: "Request body or question larger than the limit",
        429: "Too many chat requests in flight; retry after the Retry-After header",
        500: "Server bug",
        502: "The generator endpoint answered with an error",
        503: "The generator endpoint or the vector store is unavailable (the message names it)",
    }
    return {str(code): _json(_ref("OpenAIError"), text[code]) for code in codes}


def _chat_paths(example: str) -> dict[str, Any]:
    event = {  # one server-sent event: `data:` a chat.completion.chunk, an error, or [DONE]
        "type": "object",
        "required": ["data"],
        "properties": {"data": {"type": "string"}, "event": {"type": "string"}},
    }
    stream = {"text/event-stream": {"schema": event}}
    request = {"$ref": "#/components/schemas/ChatCompletionRequest"}
    return {
        "/v1/chat/completions": {
            "post": {
                "summary": "Answer the last user message with a served prompt (OpenAI chat completions)",
                "operationId": "chatCompletions",
                "security": [{}, {"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        _JSON: {
                            "schema": request,
                            "example": {
                                "model": example,
                                "messages": [{"role": "user", "content": "How do I add a model?"}],
                            },
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "The answer: a chat.completion, or with `stream: true` a "
                        "text/event-stream of chat.completion.chunk events ending with `data: [DONE]`",
                        "content": {_JSON: {"schema": _ref("ChatCompletion")}, **stream},
                    },
                    **_chat_errors(400, 401, 404, 413, 429, 500, 502, 503),
                },
            }
        },
        "/v1/models": {
            "get": {
                "summary": "The served prompts (OpenAI model list)",
                "operationId": "listPrompts",
                "responses": {"200": _json(_ref("ModelList"), "Served prompts")},
            }
        },
    }


def _chat_schemas() -> dict[str, Any]:
    text_part = {
        "type": "object",
        "required": ["type", "text"],
        "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
    }
    message = {
        "type": "object",
        "required": ["role", "content"],
        "additionalProperties": False,
        "properties": {
            "role": {"type": "string", "enum": ["system", "developer", "user", "assistant"]},
            "content": {"oneOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": text_part}]},
            "name": {"type": "string"},
        },
    }
    usage = {
        "type": "object",
        "required": ["prompt_tokens", "completion_tokens", "total_tokens"],
        "properties": {
            k: {"type": "integer", "minimum": 0}
            for k in ("prompt_tokens", "completion_tokens", "total_tokens")
        },
    }
    aip = {
        "type": "object",
        "description": "aip's extension: the prompt version that answered, the files it cites, a refusal",
        "required": ["prompt", "version", "label", "citations", "refused"],
        "properties": {
            "prompt": {"type": "string"},
            "version": {"type": "string"},
            "label": {"type": "string"},
            "citations": {"type": "array", "items": {"type": "string"}},
            "refused": {"type": ["string", "null"], "description": "out_of_scope, empty_retrieval"},
        },
    }
    return {
        "ChatCompletionRequest": {
            "type": "object",
            "required": ["model", "messages"],
            "additionalProperties": False,
            "properties": {
                "model": {"type": "string", "minLength": 1, "description": "a served prompt's name"},
                "messages": {"type": "array", "minItems": 1, "items": message},
                "stream": {"type": ["boolean", "null"]},
                "stream_options": {
                    "type": ["object", "null"],
                    "additionalProperties": False,
                    "properties": {"include_usage": {"type": ["boolean", "null"]}},
                },
                "max_tokens": {
                    "type": ["integer", "null"],
                    "minimum": 1,
                    "description": "lowers the prompt's",
                },
                "max_completion_tokens": {"type": ["integer", "null"], "minimum": 1},
                "response_format": {
                    "type": ["object", "null"],
                    "required": ["type"],
                    "properties": {"type": {"type": "string", "enum": ["text", "json_object"]}},
                },
                "temperature": {
                    "type": ["number", "null"],
                    "minimum": 0,
                    "maximum": 2,
                    "description": "ignored",
                },
                "top_p": {"type": ["number", "null"], "minimum": 0, "maximum": 1, "description": "ignored"},
                "presence_penalty": {"type": ["number", "null"], "minimum": -2, "maximum": 2},
                "frequency_penalty": {"type": ["number", "null"], "minimum": -2, "maximum": 2},
                "n": {"type": ["integer", "null"], "enum": [1, None]},
                "logprobs": {"type": ["boolean", "null"], "enum": [False, None]},
                "seed": {"type": ["integer", "null"]},
                "user": {"type": ["string", "null"]},
            },
        },
        "ChatCompletion": {
            "type": "object",
            "required": ["id", "object", "created", "model", "choices", "usage", "aip"],
            "properties": {
                "id": {"type": "string"},
                "object": {"const": "chat.completion"},
                "created": {"type": "integer"},
                "model": {"type": "string"},
                "choices": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["index", "message", "finish_reason"],
                        "properties": {
                            "index": {"type": "integer"},
                            "message": {
                                "type": "object",
                                "required": ["role", "content"],
                                "properties": {"role": {"const": "assistant"}, "content": {"type": "string"}},
                            },
                            "finish_reason": {"type": "string", "enum": ["stop", "length"]},
                        },
                    },
                },
                "usage": usage,
                "aip": aip,
            },
        },
        "ModelList": {
            "type": "object",
            "required": ["object", "data"],
            "properties": {
                "object": {"const": "list"},
                "data": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "object", "created", "owned_by"],
                        "properties": {
                            "id": {"type": "string"},
                            "object": {"const": "model"},
                            "created": {"type": "integer"},
                            "owned_by": {"type": "string"},
                        },
                    },
                },
            },
        },
        "OpenAIError": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["message", "type", "param", "code"],
                    "properties": {
                        "message": {"type": "string"},
                        "type": {"type": "string"},
                        "param": {"type": ["string", "null"]},
                        "code": {"type": ["string", "null"]},
                    },
                }
            },
        },
    }


def _admin_paths(ex: dict[str, str]) -> dict[str, Any]:
    admin_errors = _errors(400, 401, 403, 404)
    state = _json(_ref("AdminState"), "Model state")
    base = "/v1/admin/models/{name}"
    secured = {"security": [{"bearer": []}], "parameters": _params("name", examples=ex)}
    return {
        base: {"get": {"operationId": "adminState", **secured, "responses": {"200": state, **admin_errors}}},
        f"{base}/canary": {
            "post": {
                "operationId": "adminLoadCanary",
                **secured,
                "requestBody": {"required": True, "content": {_JSON: {"schema": _ref("CanaryRequest")}}},
                "responses": {"200": state, **admin_errors, **_errors(409, 413, 422)},
            },
            "delete": {
                "operationId": "adminDeleteCanary",
                **secured,
                "responses": {"200": state, **admin_errors},
            },
        },
        f"{base}/baseline": {
            "post": {
                "operationId": "adminLoadBaseline",
                **secured,
                "responses": {"200": state, **admin_errors, **_errors(409, 413, 422)},
            },
            "delete": {
                "operationId": "adminDeleteBaseline",
                **secured,
                "responses": {"200": state, **admin_errors},
            },
        },
        f"{base}/traffic": {
            "put": {
                "operationId": "adminTraffic",
                **secured,
                "requestBody": {"required": True, "content": {_JSON: {"schema": _ref("TrafficRequest")}}},
                "responses": {"200": state, **admin_errors, **_errors(409, 413)},
            }
        },
        f"{base}/promote": {
            "post": {
                "operationId": "adminPromote",
                **secured,
                "responses": {"200": state, **admin_errors, **_errors(409)},
            }
        },
        f"{base}/samples": {
            "get": {
                "operationId": "adminSamples",
                "security": [{"bearer": []}],
                "parameters": _params("name", query=(("label", True), ("since", False)), examples=ex),
                "responses": {"200": _json({"type": "object"}, "Request records"), **admin_errors},
            }
        },
        f"{base}/faults": {
            "put": {
                "operationId": "adminSetFaults",
                **secured,
                "requestBody": {"required": True, "content": {_JSON: {"schema": _ref("FaultRequest")}}},
                "responses": {"200": _json({"type": "object"}, "Faults"), **admin_errors, **_errors(413)},
            },
            "delete": {
                "operationId": "adminClearFaults",
                "security": [{"bearer": []}],
                "parameters": _params("name", query=(("label", False),), examples=ex),
                "responses": {"200": _json({"type": "object"}, "Faults"), **admin_errors},
            },
        },
        "/v1/admin/rollout-events": {
            "post": {
                "operationId": "adminRolloutEvent",
                "security": [{"bearer": []}],
                "requestBody": {"required": True, "content": {_JSON: {"schema": _ref("RolloutEvent")}}},
                "responses": {"204": {"description": "Recorded"}, **_errors(400, 401, 403, 413)},
            }
        },
    }


def _schemas() -> dict[str, Any]:
    number_row = {"type": "object", "additionalProperties": {"type": "number"}}
    instance = {
        "oneOf": [
            {"type": "string"},
            number_row,
            {"type": "object", "properties": {"text": {"type": "string"}}},
        ]
    }
    version_state = {
        "type": ["object", "null"],
        "required": ["version", "state"],
        "properties": {"version": {"type": "string"}, "state": {"type": "string"}},
    }
    return {
        **_chat_schemas(),
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "PredictRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "signature_name": {"type": "string", "enum": ["serving_default"]},
                "instances": {"type": "array", "minItems": 1, "items": instance},
                "inputs": {
                    "oneOf": [
                        {"type": "array", "minItems": 1, "items": {"type": "string"}},
                        {"type": "object", "additionalProperties": {"type": "array", "minItems": 1}},
                    ]
                },
            },
            "oneOf": [{"required": ["instances"]}, {"required": ["inputs"]}],
        },
        "PredictResponse": {
            "type": "object",
            "properties": {
                "predictions": {
                    "type": "array",
                    "items": {"type": "object", "required": ["label", "probabilities"]},
                },
                "outputs": {"type": "object", "required": ["label", "probabilities"]},
            },
        },
        "ClassifyRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["examples"],
            "properties": {
                "signature_name": {"type": "string", "enum": ["serving_default"]},
                "context": {"type": "object"},
                "examples": {"type": "array", "minItems": 1, "items": {"type": "object"}},
            },
        },
        "ExplainResponse": {
            "type": "object",
            "required": ["explanations", "method", "output", "max_evals", "seconds"],
            "properties": {
                "explanations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["label", "probabilities", "expected_value", "attributions"],
                        "properties": {
                            "label": {"type": "string"},
                            "probabilities": {"type": "array", "items": {"type": "number"}},
                            "expected_value": {"type": "object", "additionalProperties": {"type": "number"}},
                            "tokens": {"type": "array", "items": {"type": "string"}},
                            "attributions": {
                                "type": "object",
                                "description": "class -> {feature: value} (tabular), [per token] (text)",
                            },
                        },
                    },
                },
                "method": {"type": "string"},
                "output": {"type": "string", "enum": ["probability"]},
                "max_evals": {"type": "integer"},
                "seconds": {"type": "number"},
                "background": {"type": "object"},
            },
        },
        "ClassifyResponse": {
            "type": "object",
            "required": ["results"],
            "properties": {"results": {"type": "array", "items": {"type": "array"}}},
        },
        "StatusResponse": {
            "type": "object",
            "required": ["model_version_status"],
            "properties": {
                "model_version_status": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["version", "state", "status"],
                        "properties": {
                            "version": {"type": "string"},
                            "state": {
                                "type": "string",
                                "enum": ["START", "LOADING", "AVAILABLE", "UNLOADING", "END"],
                            },
                            "status": {"type": "object", "required": ["error_code"]},
                        },
                    },
                }
            },
        },
        "AdminState": {
            "type": "object",
            "required": ["model", "stable", "canary", "baseline", "canary_weight", "baseline_weight"],
            "properties": {
                "model": {"type": "string"},
                "stable": version_state,
                "canary": version_state,
                "baseline": version_state,
                "canary_weight": {"type": "number", "minimum": 0, "maximum": 1},
                "baseline_weight": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
        "CanaryRequest": {
            "type": "object",
            "required": ["version"],
            "properties": {"version": {"type": "string"}},
        },
        "TrafficRequest": {
            "type": "object",
            "required": ["canary_weight"],
            "additionalProperties": False,
            "properties": {
                "canary_weight": {"type": "number", "minimum": 0, "maximum": 1},
                "baseline_weight": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
        "FaultRequest": {
            "type": "object",
            "required": ["label"],
            "additionalProperties": False,
            "properties": {
                "label": {"type": "string", "enum": ["stable", "canary", "baseline"]},
                "error_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "client_error_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "shed_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "extra_latency_ms": {"type": "number", "minimum": 0, "maximum": 60000},
            },
        },
        "RolloutEvent": {
            "type": "object",
            "required": ["model", "env", "kind"],
            "additionalProperties": False,
            "properties": {
                "model": {"type": "string", "minLength": 1, "maxLength": 200},
                "env": {"type": "string", "minLength": 1, "maxLength": 200},
                "kind": {"type": "string", "enum": ["weight", "analysis", "verdict"]},
                "weight": {"type": "number", "minimum": 0, "maximum": 1},
                "check": {"type": "string", "minLength": 1, "maxLength": 200},
                "result": {"type": "string", "enum": ["pass", "fail", "inconclusive"]},
                "verdict": {"type": "string", "enum": ["promoted", "rolled_back", "aborted"]},
            },
        },
    }
