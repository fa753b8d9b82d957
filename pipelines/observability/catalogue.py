"""Every metric the platform exports, in one place: name, type, labels, help, and who exports it.

Code creates its Prometheus metrics from here (`create`), dashboards and alert rules may only
reference names found here or in EXTERNAL_EXPORTERS, and docs/metrics.md is rendered from it.
Prometheus naming: base units (`_seconds`, `_ratio`), counters end in `_total`, no `job` label
(Prometheus sets it on scrape).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

Kind = Literal["counter", "gauge", "histogram"]
Source = Literal["server", "controller", "pipeline", "drift", "registry"]

# Latency buckets (seconds) for a CPU/GPU model server: 1 ms .. 10 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
# An LLM answer takes seconds on a CPU: the latency buckets extended to 60 s.
LLM_LATENCY_BUCKETS = (*LATENCY_BUCKETS, 15.0, 20.0, 30.0, 45.0, 60.0)
# Decode tokens per second: a 135M model on 2 busy CPU cores (~5-15) to a GPU endpoint (hundreds).
TOKENS_PER_SECOND_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...]
    source: Source
    buckets: tuple[float, ...] | None = None

    @property
    def series(self) -> tuple[str, ...]:
        """Names that appear in PromQL for this metric (histograms expose three series)."""
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


CATALOGUE: tuple[Metric, ...] = (
    # ---- model server (`aip serve`) ---------------------------------------------------------
    Metric(
        "aip_serving_requests_total",
        "counter",
        "Prediction requests answered, by model, version, version label, API and status code.",
        ("model", "version", "label", "api", "code"),
        "server",
    ),
    Metric(
        "aip_serving_request_duration_seconds",
        "histogram",
        "Time from request received to response sent, including queueing and batching.",
        ("model", "version", "label", "api"),
        "server",
        LATENCY_BUCKETS,
    ),
    Metric(
        "aip_serving_batch_size",
        "histogram",
        "Requests per batch the dynamic batcher ran through the model.",
        ("model", "version"),
        "server",
        BATCH_BUCKETS,
    ),
    Metric(
        "aip_serving_queue_depth",
        "gauge",
        "Requests waiting in the batching queue.",
        ("model", "version"),
        "server",
    ),
    Metric(
        "aip_serving_inflight_requests",
        "gauge",
        "Requests being processed (queued or running).",
        ("model",),
        "server",
    ),
    Metric(
        "aip_serving_loaded_versions",
        "gauge",
        "1 for each loaded model version and its label (stable, canary, baseline).",
        ("model", "version", "label"),
        "server",
    ),
    Metric(
        "aip_serving_predictions_total",
        "counter",
        "Predicted classes, by model, version and label: the prediction distribution.",
        ("model", "version", "label", "class"),
        "server",
    ),
    Metric(
        "aip_serving_canary_weight_ratio",
        "gauge",
        "Share of unlabelled traffic the server routes to the canary (0-1).",
        ("model",),
        "server",
    ),
    Metric(
        "aip_serving_auth_failures_total",
        "counter",
        "Requests refused for missing or wrong credentials (401) or a disabled API (403), by route class "
        "(model: predict/classify/status, admin: /v1/admin) and status code.",
        ("route_class", "code"),
        "server",
    ),
    Metric(
        "aip_serving_admin_changes_total",
        "counter",
        "Admin API calls that changed what the server serves (canary, baseline, traffic, promote, faults).",
        ("model", "action"),
        "server",
    ),
    Metric(
        "aip_serving_samples_written_total",
        "counter",
        "Inputs and predictions sampled to the drift sink.",
        ("model", "version"),
        "server",
    ),
    # ---- chat completions (`aip serve`, POST /v1/chat/completions; docs/serving.md) ------------
    Metric(
        "aip_llm_requests_total",
        "counter",
        "Chat completion requests answered, by prompt, prompt version, environment alias and status code.",
        ("prompt", "version", "label", "code"),
        "server",
    ),
    Metric(
        "aip_llm_request_duration_seconds",
        "histogram",
        "Time from chat request received to the last byte of the answer (retrieval and generation).",
        ("prompt", "version", "label"),
        "server",
        LLM_LATENCY_BUCKETS,
    ),
    Metric(
        "aip_llm_time_to_first_token_seconds",
        "histogram",
        "Time from chat request received to the first generated token (retrieval and prefill included).",
        ("prompt", "version", "label"),
        "server",
        LLM_LATENCY_BUCKETS,
    ),
    Metric(
        "aip_llm_tokens_total",
        "counter",
        "Tokens the generator read (kind=prompt: template, context, question) and wrote (kind=completion).",
        ("prompt", "version", "label", "kind"),
        "server",
    ),
    Metric(
        "aip_llm_output_tokens_per_second",
        "histogram",
        "Decode speed per answer: completion tokens after the first, per second after the first token.",
        ("prompt", "version", "label"),
        "server",
        TOKENS_PER_SECOND_BUCKETS,
    ),
    Metric(
        "aip_llm_refusals_total",
        "counter",
        "Questions the assistant declined to answer, by reason (out_of_scope, empty_retrieval, "
        "injection_filtered).",
        ("prompt", "version", "label", "reason"),
        "server",
    ),
    Metric(
        "aip_retrieval_duration_seconds",
        "histogram",
        "Time to embed a chat question and search the vector store, by backend (faiss, milvus).",
        ("prompt", "version", "label", "backend"),
        "server",
        LATENCY_BUCKETS,
    ),
    # ---- canary controller (`aip deploy`; re-exported by the server it drives) ----------------
    Metric(
        "aip_rollout_canary_weight_ratio",
        "gauge",
        "Canary traffic weight the controller last set (0-1).",
        ("model", "env"),
        "controller",
    ),
    Metric(
        "aip_rollout_analysis_total",
        "counter",
        "Canary analysis checks by result (pass, fail, inconclusive).",
        ("model", "env", "check", "result"),
        "controller",
    ),
    Metric(
        "aip_rollout_verdicts_total",
        "counter",
        "Rollouts ended, by verdict (promoted, rolled_back, aborted).",
        ("model", "env", "verdict"),
        "controller",
    ),
    Metric(
        "aip_rollout_last_verdict_timestamp_seconds",
        "gauge",
        "Unix time of the last rollout verdict.",
        ("model", "env", "verdict"),
        "controller",
    ),
    # ---- pipelines (`aip run`, pushed as a batch job) ------------------------------------------
    Metric(
        "aip_pipeline_runs_total",
        "counter",
        "Lifecycle runs per model by outcome (success, failed).",
        ("model", "env", "status"),
        "pipeline",
    ),
    Metric(
        "aip_pipeline_step_duration_seconds",
        "gauge",
        "Seconds the last run spent in each step.",
        ("model", "env", "step"),
        "pipeline",
    ),
    Metric(
        "aip_pipeline_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last successful run per model.",
        ("model", "env"),
        "pipeline",
    ),
    Metric(
        "aip_pipeline_last_run_timestamp_seconds",
        "gauge",
        "Unix time of the last run per model, whatever its outcome.",
        ("model", "env"),
        "pipeline",
    ),
    Metric(
        "aip_pipeline_last_run_success",
        "gauge",
        "1 when the last run of the model succeeded, 0 when it failed.",
        ("model", "env"),
        "pipeline",
    ),
    # ---- drift (`aip drift`) --------------------------------------------------------------------
    Metric(
        "aip_drift_score",
        "gauge",
        "Drift statistic per feature and method (PSI, KS, JS, chi2, embedding distance).",
        ("model", "env", "feature", "method"),
        "drift",
    ),
    Metric(
        "aip_drift_detected",
        "gauge",
        "1 when the last drift check passed the model's thresholds.",
        ("model", "env"),
        "drift",
    ),
    Metric(
        "aip_drift_last_run_timestamp_seconds",
        "gauge",
        "Unix time of the last drift check.",
        ("model", "env"),
        "drift",
    ),
    Metric(
        "aip_drift_drifted_features_ratio",
        "gauge",
        "Share of monitored features whose drift test fired in the last check (0-1).",
        ("model", "env"),
        "drift",
    ),
    Metric(
        "aip_drift_window_samples",
        "gauge",
        "Sampled requests in the last check's window (below the minimum: insufficient data).",
        ("model", "env"),
        "drift",
    ),
    Metric(
        "aip_drift_live_quality_score",
        "gauge",
        "Quality on the window's requests whose labels arrived (accuracy, macro_f1), 0-1.",
        ("model", "env", "metric"),
        "drift",
    ),
    # ---- MLflow server (`mlflow server --app-name aip-auth`, pipelines/registry/server_auth.py) ----
    Metric(
        "aip_registry_alias_moves_total",
        "counter",
        "Attempts to set or remove a registry alias, by alias, registry user and outcome (allowed, "
        "break_glass, denied, unauthenticated, failed).",
        ("alias", "user", "outcome"),
        "registry",
    ),
)

# Metrics of exporters the platform deploys but does not write (dashboards may use these prefixes).
EXTERNAL_EXPORTERS: dict[str, tuple[str, ...]] = {
    "node-exporter": ("node_",),
    "dcgm-exporter": ("DCGM_FI_",),
    "prometheus": ("up", "scrape_", "prometheus_", "ALERTS"),
}

BY_NAME: dict[str, Metric] = {m.name: m for m in CATALOGUE}


def known_series() -> set[str]:
    """Every series name the platform's own exporters produce."""
    return {s for m in CATALOGUE for s in m.series}


def create(name: str, registry: CollectorRegistry | None = None) -> Any:
    """The prometheus_client metric for a catalogue entry (KeyError for names not in the catalogue)."""
    from prometheus_client import REGISTRY, Counter, Gauge, Histogram

    metric = BY_NAME[name]
    target = registry if registry is not None else REGISTRY
    if metric.kind == "counter":
        return Counter(metric.name.removesuffix("_total"), metric.help, metric.labels, registry=target)
    if metric.kind == "gauge":
        return Gauge(metric.name, metric.help, metric.labels, registry=target)
    return Histogram(metric.name, metric.help, metric.labels, registry=target, buckets=metric.buckets or ())
