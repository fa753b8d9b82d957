"""Canary rollout: canary, its baseline (a fresh instance of the stable version with the same share) and
stable side by side, the traffic weight, analysis checks and verdicts."""

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

SEL = 'model=~"$model", label=~"stable|canary|baseline"'
ANALYSED = f"{SEL}, {SLO_REQUESTS}"  # the requests the canary analysis compares (explain left out)
RATE = "$__rate_interval"


def quantile(q: float) -> Query:
    return Query(
        f"histogram_quantile({q}, sum by (le, label) "
        f"(rate(aip_serving_request_duration_seconds_bucket{{{ANALYSED}}}[{RATE}])))",
        f"{{{{label}}}} p{round(q * 100)}",
    )


dashboard = dashboard(
    uid="aip-canary-rollout",
    title="AI platform / Canary rollout",
    description="aip deploy: canary against its baseline and stable side by side (traffic, errors, latency, predictions), "
    "the canary weight, the analysis checks and the verdicts.",
    tags=["serving", "deploy"],
    time_from="now-3h",
    variables=[
        variable(
            "model",
            "label_values(aip_serving_canary_weight_ratio, model)",
            "Model",
            include_all=False,
            multi=False,
        ),
    ],
    rows=[
        Row(
            "Weight",
            [
                timeseries(
                    "Canary weight",
                    "Share of unlabelled traffic routed to the canary: what the server applies and what the "
                    "controller last set. The two lines differ only while a step is being applied.",
                    [
                        Query('max by (model) (aip_serving_canary_weight_ratio{model=~"$model"})', "server"),
                        Query(
                            'max by (model, env) (aip_rollout_canary_weight_ratio{model=~"$model"})',
                            "controller ({{env}})",
                        ),
                    ],
                    unit="percentunit",
                    maximum=1,
                ),
                table(
                    "Loaded versions",
                    "Which version is stable, which is the canary and which the baseline right now.",
                    [
                        Query(
                            'max by (model, version, label) (aip_serving_loaded_versions{model=~"$model"}) == 1'
                        )
                    ],
                ),
            ],
        ),
        Row(
            "Canary against stable",
            [
                timeseries(
                    "Requests per second",
                    "Requests per second answered by the canary and by stable; their ratio follows the weight.",
                    [
                        Query(
                            f"sum by (label) (rate(aip_serving_requests_total{{{SEL}}}[{RATE}]))",
                            "{{label}}",
                        )
                    ],
                    unit="reqps",
                ),
                timeseries(
                    "Error rate",
                    "Share of 5xx and 429 answers, canary against stable; the analysis fails the canary above "
                    "model.yaml's max_error_rate or max_error_rate_ratio times stable's. Explain requests are "
                    "left out, as in the analysis.",
                    [
                        Query(
                            f"sum by (label) (rate(aip_serving_requests_total{{{ANALYSED}, "
                            f'code=~"{SERVING_ERROR_CODES}"}}[{RATE}])) / sum by (label) '
                            f"(rate(aip_serving_requests_total{{{ANALYSED}}}[{RATE}]))",
                            "{{label}}",
                        )
                    ],
                    unit="percentunit",
                ),
                timeseries(
                    "Latency p95 and p99",
                    "p95 and p99 latency of canary and stable; the analysis bounds their ratios "
                    "(max_latency_ratio_p95, max_latency_ratio_p99). Explain requests are left out, as in the "
                    "analysis.",
                    [quantile(0.95), quantile(0.99)],
                    unit="s",
                ),
            ],
        ),
        Row(
            "Predictions",
            [
                timeseries(
                    "Prediction distribution",
                    "Share of each predicted class, per label: a canary that predicts differently from stable "
                    "shows up here before any label arrives (the analysis bounds their PSI).",
                    [
                        Query(
                            f"sum by (label, class) (rate(aip_serving_predictions_total{{{SEL}}}[{RATE}])) "
                            f"/ ignoring (class) group_left sum by (label) "
                            f"(rate(aip_serving_predictions_total{{{SEL}}}[{RATE}]))",
                            "{{label}}: {{class}}",
                        )
                    ],
                    unit="percentunit",
                    maximum=1,
                ),
            ],
        ),
        Row(
            "Analysis and verdicts",
            [
                timeseries(
                    "Analysis checks",
                    "Canary analysis checks per minute by check (error rate, latency, prediction "
                    "distribution, ...) and result (pass, fail, inconclusive).",
                    [
                        Query(
                            'sum by (check, result) (increase(aip_rollout_analysis_total{model=~"$model"}[5m]))',
                            "{{check}}: {{result}}",
                        )
                    ],
                    stack=True,
                ),
                stat(
                    "Verdicts in range",
                    "Rollouts ended in the time range picked, by verdict (promoted, rolled_back, aborted).",
                    [
                        Query(
                            'sum by (verdict) (increase(aip_rollout_verdicts_total{model=~"$model"}[$__range]))',
                            "{{verdict}}",
                            instant=True,
                        )
                    ],
                    decimals=0,
                ),
                table(
                    "Last verdicts",
                    "When each verdict was last reached, per environment.",
                    [
                        Query(
                            "max by (model, env, verdict) "
                            '(aip_rollout_last_verdict_timestamp_seconds{model=~"$model"}) * 1000'
                        )
                    ],
                    unit="dateTimeAsIso",
                ),
            ],
        ),
    ],
)
