"""The REST front (Starlette on uvicorn): TF Serving's /v1/models API, OpenAI's chat completions API
for the served prompts (_chat.py), health, metrics, OpenAPI."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

import pipelines.serving.protocol as req
from pipelines.serving._entities import expand_entities
from pipelines.serving._http import endpoint, error_response, json_response, read_body
from pipelines.serving._logging import event
from pipelines.serving._metrics import CONTENT_TYPE
from pipelines.serving.errors import Code, ServingError

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from pipelines.serving._service import Service

__all__ = ["build_app"]

_POST_PATH = re.compile(
    r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?:(?P<verb>[A-Za-z]+)$"
)
_GET_PATH = re.compile(
    r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?(?P<meta>/metadata)?$"
)
_QUIET_PATHS = ("/healthz", "/readyz", "/metrics", "/monitoring/prometheus/metrics")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class AccessLog:
    """ASGI middleware: request id header and one JSON log line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        info: dict[str, Any] = {"request_id": request_id}
        scope.setdefault("state", {})["log"] = info
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["path"] not in _QUIET_PATHS:
                event(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    latency_ms=round((time.perf_counter() - started) * 1000, 3),
                    **info,
                )


def build_app(service: Service) -> Starlette:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from pipelines.serving._admin import admin_routes
    from pipelines.serving._chat import chat_routes
    from pipelines.serving._explain import ExplainEndpoint
    from pipelines.serving._openapi import openapi_document

    prompts = sorted(service.prompts.assistants) if service.prompts is not None else []
    openapi = json.dumps(openapi_document(sorted(service.manager.slots), prompts)).encode()
    explain = ExplainEndpoint(service)

    @endpoint
    async def model_post(request: Request) -> Response:
        match = _POST_PATH.match(request.path_params["rest"])
        if match is None:
            raise ServingError(
                Code.NOT_FOUND,
                "unknown path; expected POST /v1/models/{name}[/versions/{v}|/labels/{label}]:predict",
            )
        name, version, label, verb = match.group("name", "version", "label", "verb")
        if verb == "explain":  # an extension of TF Serving's API: SHAP attributions (_explain.py)
            service.check_auth(request.headers.get("authorization"))
            return await explain.handle(
                request, await read_body(request, service.max_body_bytes), name, version, label
            )
        if verb not in ("predict", "classify"):
            if verb == "regress":
                raise ServingError(
                    Code.INVALID_ARGUMENT, f"{name!r} is a classifier: use :predict or :classify"
                )
            raise ServingError(
                Code.NOT_FOUND, f"unknown method :{verb}; expected :predict, :classify or :explain"
            )
        service.check_auth(request.headers.get("authorization"))
        body = await read_body(request, service.max_body_bytes)
        call = service.begin(name, version, label, verb)
        info = request.state.log
        info.update(model=name, version=call.target.version, label=call.label, api=f"rest:{verb}")
        headers = {"X-Model-Version": call.target.version, "X-Model-Label": call.label}
        try:
            if call.extra_latency:
                await asyncio.sleep(call.extra_latency)
            if (injected := call.injected_error()) is not None:
                raise injected
            data = req.decode_json(body)
            target = call.target
            if target.features is not None:  # entity keys in place of features (_entities.py)
                data = await expand_entities(target.features, data)
            if verb == "predict":
                model_input = req.parse_predict(data, target.kind, target.feature_names)
            else:
                model_input = req.parse_classify(data, target.kind, target.feature_names)
            future = call.slot.submit(target, model_input.payload, model_input.rows)
            proba = await asyncio.wrap_future(future)
            if verb == "predict":
                answer = req.predict_response(proba, target.labels, model_input.columnar)
            else:
                answer = req.classify_response(proba, target.labels)
            call.classes = [target.labels[i] for i in proba.argmax(axis=1)]
            call.code = 200
            from pipelines.monitoring.hook import sample_request  # drift samples (model.yaml monitoring)

            traffic = request.headers.get("x-aip-traffic", "")  # "synthetic": kept out of the drift sink
            sample_request(service, call, model_input.payload, proba, info["request_id"], traffic=traffic)
            return json_response(answer, headers=headers)
        except ServingError as exc:
            call.code = exc.code.http
            response = error_response(exc)
            response.headers.update(headers)
            return response
        finally:
            service.end(call)

    @endpoint
    async def model_get(request: Request) -> Response:
        match = _GET_PATH.match(request.path_params["rest"])
        if match is None:
            raise ServingError(
                Code.NOT_FOUND,
                "unknown path; expected GET /v1/models/{name}[/versions/{v}|/labels/{l}][/metadata]",
            )
        name, version, label, meta = match.group("name", "version", "label", "meta")
        if meta:
            return json_response(_metadata(service, name, version, label))
        return json_response({"model_version_status": service.status(name, version, label)})

    async def healthz(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ready, waiting = service.ready()
        if ready:
            return json_response({"status": "ready"})
        return json_response({"status": "not ready", "waiting": waiting}, 503)

    async def metrics(request: Request) -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE)

    async def openapi_json(request: Request) -> Response:
        return Response(openapi, media_type="application/json")

    @endpoint
    async def not_found(request: Request) -> Response:
        raise ServingError(Code.NOT_FOUND, f"no route {request.method} {request.url.path}")

    routes = [
        Route("/v1/models/{rest:path}", model_post, methods=["POST"]),
        Route("/v1/models/{rest:path}", model_get, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/monitoring/prometheus/metrics", metrics, methods=["GET"]),
        Route("/v1/openapi.json", openapi_json, methods=["GET"]),
        *chat_routes(service),
        *admin_routes(service),
    ]
    app = Starlette(routes=routes)
    app.add_exception_handler(404, _not_found_handler)
    app.add_exception_handler(405, _method_handler)
    app.add_middleware(AccessLog)
    return app


async def _not_found_handler(request: Request, exc: Exception) -> Response:
    return json_response({"error": f"no route {request.method} {request.url.path}"}, 404)


async def _method_handler(request: Request, exc: Exception) -> Response:
    return json_response({"error": f"method {request.method} is not allowed on {request.url.path}"}, 405)


def _metadata(service: Service, name: str, version: str | None, label: str | None) -> dict[str, Any]:
    slot = service.manager.slot(name)
    with slot.lock:
        target, _ = slot._pick(version, label)
    return {
        "model_spec": {"name": name, "signature_name": "", "version": target.version},
        "metadata": {
            "signature_def": {"signature_def": {req.SIGNATURE: signature(target)}},
            "aip": {"kind": target.kind, "labels": target.labels, "feature_names": target.feature_names},
        },
    }


def _tensor(name: str, dtype: str, dims: list[int]) -> dict[str, Any]:
    return {
        "dtype": dtype,
        "tensor_shape": {"dim": [{"size": str(d), "name": ""} for d in dims], "unknown_rank": False},
        "name": name,
    }


def signature(target: Any) -> dict[str, Any]:
    """The serving_default signature in TF Serving's JSON form."""
    if target.kind == "text":
        inputs = {req.TEXT_INPUT: _tensor(req.TEXT_INPUT, "DT_STRING", [-1])}
    else:
        inputs = {n: _tensor(n, "DT_FLOAT", [-1]) for n in target.feature_names or []}
    outputs = {
        "label": _tensor("label", "DT_STRING", [-1]),
        "probabilities": _tensor("probabilities", "DT_FLOAT", [-1, len(target.labels)]),
    }
    return {"inputs": inputs, "outputs": outputs, "method_name": "tensorflow/serving/predict"}
