"""Platform SLO overview: availability and latency SLOs of model serving, error budgets, burn rates, and
the platform's health at a glance (alerts, drift, failed pipelines, rollbacks)."""

from house_style import (
    AVAILABILITY_SLO,
    LATENCY_SLO,
    LATENCY_SLO_SECONDS,
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

SEL = 'model=~"$model"'
SLO_SEL = f"{SEL}, {SLO_REQUESTS}"  # the requests the SLOs count (explain left out)
ERROR_BUDGET = round(1 - AVAILABILITY_SLO, 6)
LATENCY_BUDGET = round(1 - LATENCY_SLO, 6)
ERRORS_30D = (
    f'sum by (model) (increase(aip_serving_requests_total{{{SLO_SEL}, code=~"{SERVING_ERROR_CODES}"}}[30d])) '
    f"/ sum by (model) (increase(aip_serving_requests_total{{{SLO_SEL}}}[30d]))"
)
SLOW_30D = (
    f'1 - sum by (model) (increase(aip_serving_request_duration_seconds_bucket{{{SLO_SEL}, le="{LATENCY_SLO_SECONDS}"}}'
    f"[30d])) / sum by (model) (increase(aip_serving_request_duration_seconds_count{{{SLO_SEL}}}[30d]))"
)
BURN_THRESHOLDS = [(6.0, "#EAB839"), (14.4, "red")]  # the page thresholds of the burn-rate alerts

dashboard = dashboard(
    uid="aip-platform-slo",
    title="AI platform / SLO overview",
    description=f"Serving SLOs: {AVAILABILITY_SLO:.1%} of requests without a server error, {LATENCY_SLO:.0%} "
    f"within {float(LATENCY_SLO_SECONDS) * 1000:.0f} ms, over 30 days (predictions only: explain requests are "
    "left out); error budgets, burn rates and the platform's health at a glance.",
    tags=["slo"],
    time_from="now-7d",
    variables=[variable("model", "label_values(aip_serving_requests_total, model)", "Model")],
    rows=[
        Row(
            f"Availability SLO ({AVAILABILITY_SLO:.1%})",
            [
                stat(
                    "Availability (30 days)",
                    "Share of prediction requests (explain left out) over the last 30 days answered without a 5xx "
                    "or 429.",
                    [Query(f"1 - ({ERRORS_30D})", "{{model}}", instant=True)],
                    unit="percentunit",
                    decimals=3,
                ),
                stat(
                    "Error budget left (30 days)",
                    "Share of the 30-day error budget (0.1% of requests) not yet spent; below zero the SLO "
                    "is breached and risky rollouts should wait.",
                    [Query(f"1 - ({ERRORS_30D}) / {ERROR_BUDGET}", "{{model}}", instant=True)],
                    unit="percentunit",
                    decimals=1,
                ),
                timeseries(
                    "Error budget burn rate",
                    "How fast the error budget burns (1 = exactly the budget over 30 days), over 1 h and 6 h. "
                    "The alerts page at 14.4 (1 h) and 6 (6 h): 2% and 5% of the budget spent.",
                    [
                        Query(
                            f"aip:serving_request_errors:ratio_rate1h{{{SEL}}} / {ERROR_BUDGET}",
                            "{{model}} 1h",
                        ),
                        Query(
                            f"aip:serving_request_errors:ratio_rate6h{{{SEL}}} / {ERROR_BUDGET}",
                            "{{model}} 6h",
                        ),
                    ],
                    thresholds=BURN_THRESHOLDS,
                ),
            ],
        ),
        Row(
            f"Latency SLO ({LATENCY_SLO:.0%} within {float(LATENCY_SLO_SECONDS) * 1000:.0f} ms)",
            [
                stat(
                    "Fast requests (30 days)",
                    "Share of prediction requests (explain left out) over the last 30 days answered within the "
                    "latency threshold.",
                    [Query(f"1 - ({SLOW_30D})", "{{model}}", instant=True)],
                    unit="percentunit",
                    decimals=3,
                ),
                stat(
                    "Latency budget left (30 days)",
                    "Share of the 30-day latency budget (1% of requests may be slower) not yet spent.",
                    [Query(f"1 - ({SLOW_30D}) / {LATENCY_BUDGET}", "{{model}}", instant=True)],
                    unit="percentunit",
                    decimals=1,
                ),
                timeseries(
                    "Latency budget burn rate",
                    "How fast the latency budget burns over 1 h and 6 h (same thresholds as availability).",
                    [
                        Query(
                            f"aip:serving_request_slow:ratio_rate1h{{{SEL}}} / {LATENCY_BUDGET}",
                            "{{model}} 1h",
                        ),
                        Query(
                            f"aip:serving_request_slow:ratio_rate6h{{{SEL}}} / {LATENCY_BUDGET}",
                            "{{model}} 6h",
                        ),
                    ],
                    thresholds=BURN_THRESHOLDS,
                ),
            ],
        ),
        Row(
            "Platform health",
            [
                table(
                    "Firing alerts",
                    "Alerts firing now, by name and severity (the Watchdog, always firing, is left out).",
                    [
                        Query(
                            'count by (alertname, severity) (ALERTS{alertstate="firing", alertname!="Watchdog"})'
                        )
                    ],
                ),
                stat(
                    "Models drifting",
                    "Models whose last drift check passed their thresholds.",
                    [Query("count(aip_drift_detected == 1) or vector(0)", "drifting", instant=True)],
                    thresholds=[(1, "red")],
                    decimals=0,
                ),
                stat(
                    "Failed pipelines",
                    "Models whose last `aip run` failed, in any environment.",
                    [Query("count(aip_pipeline_last_run_success == 0) or vector(0)", "failed", instant=True)],
                    thresholds=[(1, "red")],
                    decimals=0,
                ),
                stat(
                    "Rollbacks (7 days)",
                    "Canary rollouts rolled back or aborted over the last 7 days.",
                    [
                        Query(
                            'sum(increase(aip_rollout_verdicts_total{verdict=~"rolled_back|aborted"}[7d])) '
                            "or vector(0)",
                            "rollbacks",
                            instant=True,
                        )
                    ],
                    thresholds=[(1, "#EAB839")],
                    decimals=0,
                ),
                stat(
                    "Request rate",
                    "Requests per second over every model right now, explain requests included.",
                    [Query("sum(aip:serving_requests:rate5m)", "req/s", instant=True)],
                    unit="reqps",
                ),
            ],
        ),
    ],
)
