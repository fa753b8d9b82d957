"""Where the canary analysis reads its numbers: a `MetricsSource` answers, for one model, track
(`canary`, `baseline` or `stable`) and version, what happened between two instants.

Every answered request counts; its status sorts it: 5xx are errors, 429 load shedding, other 4xx
client errors (a canary that answers 400 to valid input). Only successful requests carry a latency
and a predicted class.

- `LocalSamplesSource`: the embedded default. Reads the server's raw per-request records
  (`GET /v1/admin/models/{name}/samples`), so latencies are exact and tests see every request.
- `PrometheusSource`: production. PromQL over the catalogue's server metrics
  (`aip_serving_requests_total`, `aip_serving_request_duration_seconds`, `aip_serving_predictions_total`,
  all labelled model/version/label), summed over replicas. Latencies come back as histogram buckets;
  they are expanded into one value per request at the bucket's upper bound (`latency_binned`), which
  keeps the rank test valid (ties) at the resolution of the buckets.

Either raises `MetricsUnavailable` when it cannot answer; the analysis turns that into inconclusive.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Protocol

from pipelines.deploy.analysis import WindowData
from pipelines.errors import AipError
from pipelines.http import HttpError, Unreachable, request_json

__all__ = [
    "LocalSamplesSource",
    "MetricsSource",
    "MetricsUnavailable",
    "PrometheusSource",
    "prometheus_queries",
]


class MetricsUnavailable(AipError):
    """The metrics source could not answer (down, erroring, or answering nonsense)."""


class MetricsSource(Protocol):
    def window(self, model: str, label: str, version: str, start: float, end: float) -> WindowData:
        """Requests of `model` served by `version` under `label` with start <= ts < end (unix seconds)."""
        ...

    def describe(self) -> str:
        """One line for logs and the report: what is read, from where."""
        ...


def count_status(data: WindowData, code: str, count: int = 1) -> None:
    """Add `count` answers with HTTP status `code` to the window's tallies."""
    data.requests += count
    if code.startswith("5"):
        data.errors += count
    elif code == "429":
        data.shed += count
    elif code.startswith("4"):
        data.client_errors += count


class LocalSamplesSource:
    """The server's admin samples endpoint (raw records)."""

    def __init__(self, endpoint: str, token: str | None, timeout: float = 10.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.token = token
        self.timeout = timeout

    def describe(self) -> str:
        return f"per-request samples from {self.endpoint}/v1/admin/models/<model>/samples"

    def window(self, model: str, label: str, version: str, start: float, end: float) -> WindowData:
        url = f"{self.endpoint}/v1/admin/models/{model}/samples"
        try:
            body = request_json(
                "GET",
                url,
                token=self.token,
                timeout=self.timeout,
                params={"label": label, "since": f"{start:.6f}"},
            )
        except (Unreachable, HttpError) as exc:
            raise MetricsUnavailable(f"samples endpoint: {exc}") from None
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise MetricsUnavailable(f"{url}: answer has no 'records' list")
        return window_from_records(records, label, version, start, end)


def window_from_records(
    records: list[dict[str, Any]], label: str, version: str, start: float, end: float
) -> WindowData:
    data = WindowData()
    classes: Counter[str] = Counter()
    for record in records:
        try:
            ts = float(record["ts"])
            if (
                not (start <= ts < end)
                or record.get("label") != label
                or str(record.get("version")) != version
            ):
                continue
            code = int(record["code"])
            count_status(data, str(code))
            if code != 200:
                continue  # failed requests have no prediction; their latency is not the model's
            latency = float(record["latency_seconds"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MetricsUnavailable(f"malformed sample record {record!r}: {exc}") from None
        data.latencies.append(latency)
        predicted = record.get("predicted_class")
        if predicted is not None:
            classes[str(predicted)] += 1
    data.class_counts = dict(classes)
    return data


# ---- Prometheus ----------------------------------------------------------------------------------
def _selector(model: str, label: str, version: str) -> str:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"')

    # `:explain` requests (SHAP, ~10x a prediction's latency) are not the traffic being canaried.
    return f'model="{esc(model)}",label="{esc(label)}",version="{esc(version)}",api!="explain"'


def prometheus_queries(model: str, label: str, version: str, seconds: int) -> dict[str, str]:
    """The PromQL the source runs, evaluated at the window's end over `seconds` before it."""
    sel = _selector(model, label, version)
    window = f"[{max(1, seconds)}s]"
    return {
        "requests": f"sum by (code) (increase(aip_serving_requests_total{{{sel}}}{window}))",
        "latency": f"sum by (le) (increase(aip_serving_request_duration_seconds_bucket{{{sel}}}{window}))",
        "classes": f"sum by (class) (increase(aip_serving_predictions_total{{{sel}}}{window}))",
    }


class PrometheusSource:
    """The Prometheus HTTP API (`/api/v1/query`) over the catalogue's server metrics."""

    def __init__(self, url: str, timeout: float = 10.0, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.token = token

    def describe(self) -> str:
        return f"PromQL on {self.url} (aip_serving_* metrics)"

    def query(self, promql: str, at: float) -> list[dict[str, Any]]:
        try:
            body = request_json(
                "GET",
                f"{self.url}/api/v1/query",
                token=self.token,
                timeout=self.timeout,
                params={"query": promql, "time": f"{at:.3f}"},
            )
        except (Unreachable, HttpError) as exc:
            raise MetricsUnavailable(f"Prometheus: {exc}") from None
        return parse_vector(body, promql)

    def window(self, model: str, label: str, version: str, start: float, end: float) -> WindowData:
        queries = prometheus_queries(model, label, version, round(end - start))
        return window_from_vectors(
            self.query(queries["requests"], end),
            self.query(queries["latency"], end),
            self.query(queries["classes"], end),
        )


def parse_vector(body: Any, promql: str) -> list[dict[str, Any]]:
    """The `result` of an instant query answered with resultType vector; MetricsUnavailable otherwise."""
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else body
        raise MetricsUnavailable(f"Prometheus query failed ({error}): {promql}")
    data = body.get("data") or {}
    if data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise MetricsUnavailable(
            f"Prometheus answered {data.get('resultType')!r}, expected a vector: {promql}"
        )
    result: list[dict[str, Any]] = data["result"]
    return result


def _value(sample: dict[str, Any]) -> float:
    try:
        value = float(sample["value"][1])
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise MetricsUnavailable(f"malformed Prometheus sample {sample!r}: {exc}") from None
    if math.isnan(value):
        raise MetricsUnavailable(f"NaN in Prometheus sample {sample!r}")
    return value


def window_from_vectors(
    requests: list[dict[str, Any]], latency: list[dict[str, Any]], classes: list[dict[str, Any]]
) -> WindowData:
    """Turn the three instant vectors into a WindowData; `increase()` extrapolates, so counts are rounded."""
    data = WindowData(latency_binned=True)
    for sample in requests:
        count = round(_value(sample))
        count_status(data, str(sample.get("metric", {}).get("code", "")), count)
    buckets = sorted(
        ((float(s.get("metric", {}).get("le", "nan")), _value(s)) for s in latency), key=lambda b: b[0]
    )
    previous = 0.0
    for bound, cumulative in buckets:
        if math.isnan(bound):
            raise MetricsUnavailable("latency bucket without an 'le' label")
        in_bucket = max(0, round(cumulative - previous))
        previous = max(previous, cumulative)
        if in_bucket and math.isinf(bound):
            # Past the last finite bound: the best statement is "at least that slow".
            finite = [b for b, _ in buckets if math.isfinite(b)]
            bound = finite[-1] * 2 if finite else math.nan
        data.latencies.extend([bound] * in_bucket)
    data.class_counts = {
        str(s.get("metric", {}).get("class", "")): round(_value(s)) for s in classes if round(_value(s)) > 0
    }
    return data
