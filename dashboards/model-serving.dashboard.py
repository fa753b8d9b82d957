"""Model serving: traffic, errors, latency, batching and queue of `aip serve`, per model, version and label."""

from house_style import (
    SERVING_ERROR_CODES,
    SLO_REQUESTS,
    Query,
    Row,
    dashboard,
    stat,
    table,
    timeseries,
    variable,
)

SEL = 'model=~"$model", version=~"$version", label=~"$label"'
SLO_SEL = f"{SEL}, {SLO_REQUESTS}"  # the requests the SLOs count (explain left out)
BY = "model, version, label"
RATE = "$__rate_interval"


def quantile(q: float) -> Query:
    return Query(
        f"histogram_quantile({q}, sum by (le, {BY}) "
        f"(rate(aip_serving_request_duration_seconds_bucket{{{SLO_SEL}}}[{RATE}])))",
        f"p{round(q * 100)} {{{{model}}}} v{{{{version}}}} {{{{label}}}}",
    )


dashboard = dashboard(
    uid="aip-model-serving",
    title="AI platform / Model serving",
    description="aip serve: requests/s, error rate, p50/p95/p99 latency, batch size and queue per model, "
    "version and label (stable, canary, baseline).",
    tags=["serving"],
    variables=[
        variable("model", "label_values(aip_serving_requests_total, model)", "Model"),
        variable("version", 'label_values(aip_serving_requests_total{model=~"$model"}, version)', "Version"),
        variable("label", 'label_values(aip_serving_requests_total{model=~"$model"}, label)', "Label"),
    ],
    rows=[
        Row(
            "Traffic and errors",
            [
                timeseries(
                    "Requests per second",
                    "Requests answered per second (REST, gRPC and explain, every status code), by model, "
                    "version and label.",
                    [
                        Query(
                            f"sum by ({BY}) (rate(aip_serving_requests_total{{{SEL}}}[{RATE}]))",
                            "{{model}} v{{version}} {{label}}",
                        )
                    ],
                    unit="reqps",
                ),
                timeseries(
                    "Error rate",
                    "Share of prediction requests answered with a server error (5xx) or rejected because the "
                    "batching queue was full (429). The dashed line is the 0.1% error budget of the "
                    "availability SLO; explain requests (rate-limited with 429 on purpose) are left out, as "
                    "in the SLO.",
                    [
                        Query(
                            f"sum by ({BY}) (rate(aip_serving_requests_total{{{SLO_SEL}, "
                            f'code=~"{SERVING_ERROR_CODES}"}}[{RATE}])) / sum by ({BY}) '
                            f"(rate(aip_serving_requests_total{{{SLO_SEL}}}[{RATE}]))",
                            "{{model}} v{{version}} {{label}}",
                        )
                    ],
                    unit="percentunit",
                    thresholds=[(0.001, "red")],
                ),
                timeseries(
                    "Responses by status code",
                    "Responses per second by HTTP status code (gRPC statuses are mapped to the same codes); "
                    "400s are client errors and do not count against the SLO.",
                    [
                        Query(
                            f"sum by (code) (rate(aip_serving_requests_total{{{SEL}}}[{RATE}]))",
                            "{{code}}",
                        )
                    ],
                    unit="reqps",
                    stack=True,
                ),
            ],
        ),
        Row(
            "Latency",
            [
                timeseries(
                    "Latency p50",
                    "Median time from prediction request received to response sent, queueing and batching "
                    "included (explain requests, ~10x slower, are left out as in the SLO).",
                    [quantile(0.5)],
                    unit="s",
                ),
                timeseries(
                    "Latency p95",
                    "95th percentile latency; the canary analysis compares it between canary and stable.",
                    [quantile(0.95)],
                    unit="s",
                ),
                timeseries(
                    "Latency p99",
                    "99th percentile latency. The dashed line is the 250 ms latency SLO threshold.",
                    [quantile(0.99)],
                    unit="s",
                    thresholds=[(0.25, "red")],
                ),
            ],
        ),
        Row(
            "Batching and queue",
            [
                timeseries(
                    "Mean batch size",
                    "Requests per batch the dynamic batcher ran through the model (model.yaml "
                    "environments.<env>.serving.batching.max_batch_size is the ceiling).",
                    [
                        Query(
                            'sum by (model, version) (rate(aip_serving_batch_size_sum{model=~"$model", '
                            f'version=~"$version"}}[{RATE}])) / sum by (model, version) '
                            f'(rate(aip_serving_batch_size_count{{model=~"$model", version=~"$version"}}[{RATE}]))',
                            "{{model}} v{{version}}",
                        )
                    ],
                ),
                timeseries(
                    "Queue depth",
                    "Requests waiting in the batching queue; a queue that keeps growing ends in 429s.",
                    [
                        Query(
                            'sum by (model, version) (aip_serving_queue_depth{model=~"$model", '
                            'version=~"$version"})',
                            "{{model}} v{{version}}",
                        )
                    ],
                ),
                timeseries(
                    "In-flight requests",
                    "Requests being processed (queued or running), per model.",
                    [
                        Query(
                            'sum by (model) (aip_serving_inflight_requests{model=~"$model"})',
                            "{{model}}",
                        )
                    ],
                ),
            ],
        ),
        Row(
            "Versions and predictions",
            [
                table(
                    "Loaded versions",
                    "Every loaded model version and its label (stable, canary, baseline), as the server reports it.",
                    [
                        Query(
                            'max by (model, version, label) (aip_serving_loaded_versions{model=~"$model"}) == 1'
                        )
                    ],
                ),
                timeseries(
                    "Predicted classes",
                    "Predictions per second by predicted class and label: the live prediction distribution.",
                    [
                        Query(
                            f"sum by (model, label, class) (rate(aip_serving_predictions_total{{{SEL}}}[{RATE}]))",
                            "{{model}} {{label}}: {{class}}",
                        )
                    ],
                    unit="reqps",
                    stack=True,
                ),
                stat(
                    "Requests in range",
                    "Requests answered over the time range picked, per model.",
                    [
                        Query(
                            f"sum by (model) (increase(aip_serving_requests_total{{{SEL}}}[$__range]))",
                            "{{model}}",
                            instant=True,
                        )
                    ],
                    decimals=0,
                ),
            ],
        ),
    ],
)
