"""Generative endpoints: chat completions of `aip serve` per prompt, prompt version and label (traffic,
errors, latency, time to first token, tokens, refusals, retrieval), the alerts of generative.rules.yml."""

from house_style import SERVING_ERROR_CODES, Query, Row, dashboard, stat, timeseries, variable

SEL = 'prompt=~"$prompt", version=~"$version", label=~"$label"'
BY = "prompt, version, label"
LEGEND = "{{prompt}} v{{version}} {{label}}"
RATE = "$__rate_interval"
# Thresholds drawn on the panels, the same as the alerts in dashboards/alerts/generative.rules.yml.
ERROR_RATIO_ALERT = 0.05
TTFT_P95_ALERT_SECONDS = 5.0
REFUSAL_RATIO_ALERT = 0.3


def quantile(metric: str, q: float, by: str = BY, legend: str = LEGEND) -> Query:
    return Query(
        f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{{{SEL}}}[{RATE}])))",
        f"p{round(q * 100)} {legend}",
    )


dashboard = dashboard(
    uid="aip-generative",
    title="AI platform / Generative endpoints",
    description="aip serve's chat completions (POST /v1/chat/completions): requests and errors, latency, "
    "time to first token, tokens in and out, generation speed, refusals and retrieval per prompt, prompt "
    "version and label.",
    tags=["serving", "generative"],
    variables=[
        variable("prompt", "label_values(aip_llm_requests_total, prompt)", "Prompt"),
        variable("version", 'label_values(aip_llm_requests_total{prompt=~"$prompt"}, version)', "Version"),
        variable("label", 'label_values(aip_llm_requests_total{prompt=~"$prompt"}, label)', "Label"),
    ],
    rows=[
        Row(
            "Traffic and errors",
            [
                timeseries(
                    "Chat requests per second",
                    "Chat completion requests answered per second (streamed or not, every status code), by "
                    "prompt, prompt version and label.",
                    [Query(f"sum by ({BY}) (rate(aip_llm_requests_total{{{SEL}}}[{RATE}]))", LEGEND)],
                    unit="reqps",
                ),
                timeseries(
                    "Error ratio",
                    "Share of chat requests answered with a server error (5xx: generator endpoint down or "
                    "failing, vector store unavailable) or rejected for load (429). Client errors (400, 413) "
                    "do not count. The line is the AipLlmHighErrorRatio threshold (5% over 10 minutes).",
                    [
                        Query(
                            f"sum by ({BY}) (rate(aip_llm_requests_total{{{SEL}, "
                            f'code=~"{SERVING_ERROR_CODES}"}}[{RATE}])) / sum by ({BY}) '
                            f"(rate(aip_llm_requests_total{{{SEL}}}[{RATE}]))",
                            LEGEND,
                        )
                    ],
                    unit="percentunit",
                    thresholds=[(ERROR_RATIO_ALERT, "red")],
                ),
                timeseries(
                    "Responses by status code",
                    "Chat responses per second by HTTP status code: 400 a bad request (unknown variable, "
                    "bad messages), 413 an oversize request, 503 the generator endpoint or vector store "
                    "unavailable, 504 the generator timed out.",
                    [Query(f"sum by (code) (rate(aip_llm_requests_total{{{SEL}}}[{RATE}]))", "{{code}}")],
                    unit="reqps",
                    stack=True,
                ),
            ],
        ),
        Row(
            "Latency",
            [
                timeseries(
                    "Answer latency p50, p95, p99",
                    "Time from the chat request received to the last byte of the answer: retrieval, prompt "
                    "rendering, prefill and the whole generation. Grows with max_tokens.",
                    [quantile("aip_llm_request_duration_seconds", q) for q in (0.5, 0.95, 0.99)],
                    unit="s",
                ),
                timeseries(
                    "Time to first token p50, p95",
                    "Time from the chat request received to the first generated token (retrieval and prefill "
                    "included): what a streaming user waits before text appears. The line is the "
                    "AipLlmSlowTimeToFirstToken threshold (p95 above 5 s for 15 minutes).",
                    [quantile("aip_llm_time_to_first_token_seconds", q) for q in (0.5, 0.95)],
                    unit="s",
                    thresholds=[(TTFT_P95_ALERT_SECONDS, "red")],
                ),
                timeseries(
                    "Retrieval latency p50, p99 by backend",
                    "Time to embed the question and search the vector store, by backend (faiss in-process, "
                    "milvus over the network): the part of the time to first token spent on retrieval.",
                    [
                        quantile(
                            "aip_retrieval_duration_seconds",
                            q,
                            by="backend, prompt",
                            legend="{{backend}} {{prompt}}",
                        )
                        for q in (0.5, 0.99)
                    ],
                    unit="s",
                ),
            ],
        ),
        Row(
            "Tokens",
            [
                timeseries(
                    "Tokens per second in and out",
                    "Tokens the generator read (prompt: template, retrieved context and question) and wrote "
                    "(completion) per second: the load on the generator endpoint, and its bill where it is "
                    "a paid API.",
                    [
                        Query(
                            f"sum by (prompt, label, kind) (rate(aip_llm_tokens_total{{{SEL}}}[{RATE}]))",
                            "{{prompt}} {{label}} {{kind}}",
                        )
                    ],
                    stack=True,
                ),
                timeseries(
                    "Generation speed p50, p10",
                    "Completion tokens per second of generation, per answer: the median and the slowest "
                    "tenth. A fall with steady traffic points at the generator (a CPU node, a busy GPU).",
                    [
                        quantile("aip_llm_output_tokens_per_second", 0.5),
                        quantile("aip_llm_output_tokens_per_second", 0.1),
                    ],
                ),
                timeseries(
                    "Mean tokens per answer",
                    "Prompt and completion tokens per answered request: a growing prompt is more context "
                    "retrieved or a longer conversation; completions at max_tokens are cut answers.",
                    [
                        Query(
                            f"sum by (prompt, label, kind) (rate(aip_llm_tokens_total{{{SEL}}}[{RATE}])) / "
                            "ignoring(kind) group_left sum by (prompt, label) "
                            f'(rate(aip_llm_requests_total{{{SEL}, code="200"}}[{RATE}]))',
                            "{{prompt}} {{label}} {{kind}}",
                        )
                    ],
                ),
            ],
        ),
        Row(
            "Refusals",
            [
                timeseries(
                    "Refusals per second by reason",
                    "Questions the assistant declined instead of answering: out_of_scope (nothing retrieved "
                    "close enough to the question), empty_retrieval (the store returned nothing: empty or "
                    "wrong index), injection_filtered (retrieved text that tried to give instructions).",
                    [
                        Query(
                            f"sum by (prompt, label, reason) (rate(aip_llm_refusals_total{{{SEL}}}[{RATE}]))",
                            "{{prompt}} {{label}} {{reason}}",
                        )
                    ],
                    unit="reqps",
                    stack=True,
                ),
                timeseries(
                    "Refusal ratio by reason",
                    "Share of chat requests refused, by reason. The line is the AipLlmRefusalSpike "
                    "threshold (30% of requests over 30 minutes, out_of_scope or empty_retrieval).",
                    [
                        Query(
                            f"sum by (prompt, label, reason) (rate(aip_llm_refusals_total{{{SEL}}}[{RATE}])) / "
                            "ignoring(reason) group_left sum by (prompt, label) "
                            f"(rate(aip_llm_requests_total{{{SEL}}}[{RATE}]))",
                            "{{prompt}} {{label}} {{reason}}",
                        )
                    ],
                    unit="percentunit",
                    maximum=1,
                    thresholds=[(REFUSAL_RATIO_ALERT, "red")],
                ),
                stat(
                    "Refusals in range",
                    "Questions refused over the time range picked, per reason.",
                    [
                        Query(
                            f"sum by (reason) (increase(aip_llm_refusals_total{{{SEL}}}[$__range]))",
                            "{{reason}}",
                            instant=True,
                        )
                    ],
                    decimals=0,
                ),
            ],
        ),
    ],
)
