"""The server's Prometheus metrics, created from the catalogue in a registry of the server's own.

The server exports the catalogue's `source == "server"` metrics, and re-exports the `controller`
ones that `aip deploy` posts to /v1/admin/rollout-events (a short-lived controller is not scraped).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from typing import Any

from pipelines.observability import catalogue

__all__ = ["CONTENT_TYPE", "ServerMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ServerMetrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, disable_created_metrics

        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self._m: dict[str, Any] = {
            m.name: catalogue.create(m.name, self.registry)
            for m in catalogue.CATALOGUE
            if m.source in ("server", "controller")
        }

    def __getitem__(self, name: str) -> Any:
        return self._m[name]

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))

    # ---- server ------------------------------------------------------------------------
    def request(self, model: str, version: str, label: str, api: str, code: int, seconds: float) -> None:
        self._m["aip_serving_requests_total"].labels(model, version, label, api, str(code)).inc()
        self._m["aip_serving_request_duration_seconds"].labels(model, version, label, api).observe(seconds)

    def predictions(self, model: str, version: str, label: str, classes: list[str]) -> None:
        counter = self._m["aip_serving_predictions_total"]
        for name in set(classes):
            counter.labels(model, version, label, name).inc(classes.count(name))

    def batch(self, model: str, version: str, rows: int) -> None:
        self._m["aip_serving_batch_size"].labels(model, version).observe(rows)

    def queue_depth(self, model: str, version: str, rows: int) -> None:
        self._m["aip_serving_queue_depth"].labels(model, version).set(rows)

    def inflight(self, model: str, delta: int) -> None:
        self._m["aip_serving_inflight_requests"].labels(model).inc(delta)

    def loaded(self, model: str, version: str, label: str, present: bool) -> None:
        gauge = self._m["aip_serving_loaded_versions"]
        if present:
            gauge.labels(model, version, label).set(1)
        else:
            # The server keeps its metrics in memory (one process); a library that set
            # PROMETHEUS_MULTIPROC_DIR (Feast's import does) makes remove() warn although it removes.
            with contextlib.suppress(KeyError), warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Removal of labels has not been implemented", UserWarning)
                gauge.remove(model, version, label)

    def canary_weight(self, model: str, weight: float) -> None:
        self._m["aip_serving_canary_weight_ratio"].labels(model).set(weight)

    def auth_failure(self, route_class: str, code: int) -> None:
        """A request refused before it reached a model: route_class model or admin, code 401 or 403."""
        self._m["aip_serving_auth_failures_total"].labels(route_class, str(code)).inc()

    def admin_change(self, model: str, action: str) -> None:
        self._m["aip_serving_admin_changes_total"].labels(model, action).inc()

    # ---- chat completions (pipelines/serving/_chat.py) -----------------------------------
    def llm_request(self, prompt: str, version: str, label: str, code: int, seconds: float) -> None:
        self._m["aip_llm_requests_total"].labels(prompt, version, label, str(code)).inc()
        self._m["aip_llm_request_duration_seconds"].labels(prompt, version, label).observe(seconds)

    def llm_generation(
        self,
        prompt: str,
        version: str,
        label: str,
        *,
        request_first_token_seconds: float,
        generator_first_token_seconds: float,
        prompt_tokens: int,
        completion_tokens: int,
        generation_seconds: float,
    ) -> None:
        """One generation: time to first token (from the request), tokens in and out, and the decode
        speed: tokens after the first over the time after the first (the prefill is in the TTFT)."""
        keys = (prompt, version, label)
        self._m["aip_llm_time_to_first_token_seconds"].labels(*keys).observe(request_first_token_seconds)
        tokens = self._m["aip_llm_tokens_total"]
        tokens.labels(*keys, "prompt").inc(prompt_tokens)
        tokens.labels(*keys, "completion").inc(completion_tokens)
        decoding = generation_seconds - generator_first_token_seconds
        if completion_tokens > 1 and decoding > 0:
            rate = (completion_tokens - 1) / decoding
            self._m["aip_llm_output_tokens_per_second"].labels(*keys).observe(rate)

    def llm_refusal(self, prompt: str, version: str, label: str, reason: str) -> None:
        self._m["aip_llm_refusals_total"].labels(prompt, version, label, reason).inc()

    def retrieval(self, prompt: str, version: str, label: str, backend: str, seconds: float) -> None:
        self._m["aip_retrieval_duration_seconds"].labels(prompt, version, label, backend).observe(seconds)

    # ---- controller (re-exported) --------------------------------------------------------
    def rollout_weight(self, model: str, env: str, weight: float) -> None:
        self._m["aip_rollout_canary_weight_ratio"].labels(model, env).set(weight)

    def rollout_analysis(self, model: str, env: str, check: str, result: str) -> None:
        self._m["aip_rollout_analysis_total"].labels(model, env, check, result).inc()

    def rollout_verdict(self, model: str, env: str, verdict: str) -> None:
        self._m["aip_rollout_verdicts_total"].labels(model, env, verdict).inc()
        self._m["aip_rollout_last_verdict_timestamp_seconds"].labels(model, env, verdict).set(time.time())
