"""The model server's sampling hook: one call where the REST front has produced predictions.

    from pipelines.monitoring.hook import sample_request
    sample_request(service, call, payload, proba, request_id, traffic=headers.get("x-aip-traffic", ""))

One `Sampler` per server process (created on first use from the repository the server runs in, the
server's environment and its own `aip_serving_samples_written_total`); flushed at exit. It never
raises into the request path: a failure is logged once and sampling stops for that process.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from pipelines.monitoring.sink import Sampler

_log = logging.getLogger("pipelines.monitoring")
TRAFFIC_HEADER = "X-AIP-Traffic"  # set by generated load; its value SYNTHETIC keeps a request out of the sink
SYNTHETIC = "synthetic"
_samplers: dict[int, Sampler | None] = {}
_lock = threading.Lock()


def _sampler(service: Any) -> Sampler | None:
    key = id(service)
    if key in _samplers:
        return _samplers[key]
    with _lock:
        if key not in _samplers:
            try:
                from pipelines.repo.layout import Repo

                sampler: Sampler | None = Sampler.for_server(
                    Repo.discover(), service.env, counter=service.metrics["aip_serving_samples_written_total"]
                )
                atexit.register(sampler.close)  # type: ignore[union-attr]
            except Exception as exc:
                _log.warning("request sampling disabled: %s", exc)
                sampler = None
            _samplers[key] = sampler
    return _samplers[key]


def sample_request(
    service: Any, call: Any, payload: Any, proba: Any, request_id: str, *, traffic: str = ""
) -> None:
    """Sample a successful predict/classify request into the drift sink (model.yaml monitoring).

    `traffic` is the request's `X-AIP-Traffic` header: `synthetic` (the canary load driver replaying
    the test split, benchmarks) is never sampled, since drift is measured on what users send."""
    if traffic.strip().lower() == SYNTHETIC:
        return
    try:
        sampler = _sampler(service)
        model = call.slot.name
        if sampler is None or not sampler.sampled(model):
            return
        target = call.target
        names = target.feature_names
        rows = payload.tolist() if hasattr(payload, "tolist") else list(payload)
        inputs = [dict(zip(names, row, strict=True)) for row in rows] if names else rows
        sampler.enqueue(
            model=model,
            version=str(target.version),
            label=call.label,
            request_id=request_id,
            inputs=inputs,
            predictions=list(call.classes or []),
            probabilities=proba.tolist() if hasattr(proba, "tolist") else None,
        )
    except Exception as exc:  # never fail a prediction because of monitoring
        _log.warning("request sample dropped: %s", exc)
