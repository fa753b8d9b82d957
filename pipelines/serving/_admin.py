"""The admin API that `aip deploy` drives: canary and baseline load, traffic weights, promote,
rollback, samples, rollout events (re-exported controller metrics) and, when enabled, fault injection.
The contract is written down in docs/serving.md. Each call that changes what is served counts in
`aip_serving_admin_changes_total{model, action}` (the security alert on changes outside a deploy)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pipelines.serving.protocol as req
from pipelines.serving._http import endpoint, json_response, read_body
from pipelines.serving._logging import event
from pipelines.serving._models import LABELS, Fault
from pipelines.serving.errors import Code, ServingError

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from pipelines.serving._service import Service

__all__ = ["admin_routes"]

_RESULTS = ("pass", "fail", "inconclusive")
_VERDICTS = ("promoted", "rolled_back", "aborted")
_EVENT_FIELDS = {"model", "env", "kind", "weight", "check", "result", "verdict"}
_MAX_FAULT_LATENCY_MS = 60_000.0


def _bad(message: str) -> ServingError:
    return ServingError(Code.INVALID_ARGUMENT, message)


def _object(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _bad("request body must be a JSON object")
    return data


def _fraction(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _bad(f"{what} must be a number from 0 to 1, got {value!r}")
    return float(value)


def _text(data: Mapping[str, Any], key: str, allowed: tuple[str, ...] | None = None) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise _bad(f"'{key}' must be a non-empty string")
    if allowed is not None and value not in allowed:
        raise _bad(f"'{key}' must be one of {', '.join(allowed)}, got {value!r}")
    return value


def admin_routes(service: Service) -> list[Route]:
    from starlette.routing import Route

    async def authorised_body(request: Request) -> Any:
        service.check_admin(request.headers.get("authorization"))
        body = await read_body(request, service.max_body_bytes)
        return req.decode_json(body) if body else {}

    def logged(request: Request, action: str) -> None:
        request.state.log.update(model=request.path_params.get("name"), api=f"admin:{action}")

    @endpoint
    async def state(request: Request) -> Response:
        service.check_admin(request.headers.get("authorization"))
        logged(request, "state")
        return json_response(service.manager.slot(request.path_params["name"]).state())

    @endpoint
    async def canary(request: Request) -> Response:
        name = request.path_params["name"]
        logged(request, f"canary:{request.method.lower()}")
        data = await authorised_body(request)
        slot = service.manager.slot(name)
        if request.method == "DELETE":
            slot.rollback()
            service.metrics.admin_change(name, "canary:delete")
            event("canary_deleted", model=name)
            return json_response(slot.state())
        version = _object(data).get("version")
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(None, service.manager.load_canary, name, version)
        service.metrics.admin_change(name, "canary:post")
        return json_response(result)

    @endpoint
    async def baseline(request: Request) -> Response:
        name = request.path_params["name"]
        logged(request, f"baseline:{request.method.lower()}")
        await authorised_body(request)
        slot = service.manager.slot(name)
        if request.method == "DELETE":
            slot.remove_baseline()
            service.metrics.admin_change(name, "baseline:delete")
            event("baseline_deleted", model=name)
            return json_response(slot.state())
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(None, service.manager.load_baseline, name)
        service.metrics.admin_change(name, "baseline:post")
        return json_response(result)

    @endpoint
    async def traffic(request: Request) -> Response:
        name = request.path_params["name"]
        logged(request, "traffic")
        data = _object(await authorised_body(request))
        unknown = sorted(set(data) - {"canary_weight", "baseline_weight"})
        if unknown:
            raise _bad(f"unknown field(s) {', '.join(unknown)}; expected canary_weight, baseline_weight")
        weight = _fraction(data.get("canary_weight"), "canary_weight")
        baseline_weight = _fraction(data.get("baseline_weight", 0), "baseline_weight")
        slot = service.manager.slot(name)
        slot.set_weight(weight, baseline_weight)
        service.metrics.admin_change(name, "traffic")
        event("canary_weight", model=name, weight=weight, baseline_weight=baseline_weight)
        return json_response(slot.state())

    @endpoint
    async def promote(request: Request) -> Response:
        name = request.path_params["name"]
        logged(request, "promote")
        await authorised_body(request)
        slot = service.manager.slot(name)
        slot.promote()
        service.metrics.admin_change(name, "promote")
        event("canary_promoted", model=name, version=slot.state()["stable"]["version"])
        return json_response(slot.state())

    @endpoint
    async def samples(request: Request) -> Response:
        service.check_admin(request.headers.get("authorization"))
        logged(request, "samples")
        slot = service.manager.slot(request.path_params["name"])
        label = request.query_params.get("label")
        if label not in LABELS:
            raise _bad(f"query parameter 'label' must be one of {', '.join(LABELS)}")
        try:
            since = float(request.query_params.get("since", "0"))
        except ValueError:
            raise _bad("query parameter 'since' must be a unix timestamp (float)") from None
        if not math.isfinite(since):
            raise _bad("query parameter 'since' must be finite")
        return json_response({"records": slot.samples[label].since(since)})

    @endpoint
    async def rollout_event(request: Request) -> Response:
        from starlette.responses import Response

        data = _object(await authorised_body(request))
        unknown = sorted(set(data) - _EVENT_FIELDS)
        if unknown:
            raise _bad(f"unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(_EVENT_FIELDS))}")
        model, env = _text(data, "model"), _text(data, "env")
        kind = _text(data, "kind", ("weight", "analysis", "verdict"))
        # Every field given must be valid, whichever kind uses it (the OpenAPI schema says the same).
        for key, allowed in (("check", None), ("result", _RESULTS), ("verdict", _VERDICTS)):
            if key in data:
                _text(data, key, allowed)
        if "weight" in data:
            _fraction(data["weight"], "weight")
        request.state.log.update(model=model, api=f"admin:rollout-event:{kind}")
        if kind == "weight":
            service.metrics.rollout_weight(model, env, _fraction(data.get("weight"), "weight"))
        elif kind == "analysis":
            service.metrics.rollout_analysis(
                model, env, _text(data, "check"), _text(data, "result", _RESULTS)
            )
        else:
            service.metrics.rollout_verdict(model, env, _text(data, "verdict", _VERDICTS))
        return Response(status_code=204)

    @endpoint
    async def faults(request: Request) -> Response:
        name = request.path_params["name"]
        logged(request, f"faults:{request.method.lower()}")
        data = await authorised_body(request)
        if not service.fault_injection:
            raise ServingError(
                Code.PERMISSION_DENIED,
                "fault injection is disabled; start `aip serve` with --enable-fault-injection (not in prod)",
            )
        slot = service.manager.slot(name)
        if request.method == "DELETE":
            label = request.query_params.get("label")
            if label is not None and label not in LABELS:
                raise _bad(f"query parameter 'label' must be one of {', '.join(LABELS)}")
            with slot.lock:
                for each in [label] if label else list(LABELS):
                    slot.faults.pop(each, None)
        else:
            body = _object(data)
            allowed = {"label", "error_rate", "extra_latency_ms", "client_error_rate", "shed_rate"}
            unknown = sorted(set(body) - allowed)
            if unknown:
                raise _bad(f"unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}")
            label = _text(body, "label", LABELS)
            rate = _fraction(body.get("error_rate", 0), "error_rate")
            client = _fraction(body.get("client_error_rate", 0), "client_error_rate")
            shed = _fraction(body.get("shed_rate", 0), "shed_rate")
            if rate + client + shed > 1:
                raise _bad("error_rate + client_error_rate + shed_rate must not exceed 1")
            latency = body.get("extra_latency_ms", 0)
            if isinstance(latency, bool) or not isinstance(latency, int | float):
                raise _bad("extra_latency_ms must be a number")
            if not 0 <= latency <= _MAX_FAULT_LATENCY_MS:
                raise _bad(f"extra_latency_ms must be from 0 to {_MAX_FAULT_LATENCY_MS:g}")
            with slot.lock:
                slot.faults[label] = Fault(rate, float(latency), client, shed)
        service.metrics.admin_change(name, f"faults:{request.method.lower()}")
        event("faults", model=name, faults={k: v.as_dict() for k, v in slot.faults.items()})
        return json_response({"faults": {k: v.as_dict() for k, v in slot.faults.items()}})

    base = "/v1/admin/models/{name}"
    return [
        Route(base, state, methods=["GET"]),
        Route(f"{base}/canary", canary, methods=["POST", "DELETE"]),
        Route(f"{base}/baseline", baseline, methods=["POST", "DELETE"]),
        Route(f"{base}/traffic", traffic, methods=["PUT"]),
        Route(f"{base}/promote", promote, methods=["POST"]),
        Route(f"{base}/samples", samples, methods=["GET"]),
        Route(f"{base}/faults", faults, methods=["PUT", "DELETE"]),
        Route("/v1/admin/rollout-events", rollout_event, methods=["POST"]),
    ]
