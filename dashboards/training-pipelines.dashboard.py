"""Training and pipeline runs: outcomes of `aip run` per model and environment, step durations, staleness."""

from house_style import Query, Row, boolean_mappings, dashboard, stat, table, timeseries, variable

SEL = 'model=~"$model", env=~"$env"'

dashboard = dashboard(
    uid="aip-training-pipelines",
    title="AI platform / Training and pipeline runs",
    description="aip run, pushed as a batch job: run outcomes, the last successful run, step durations "
    "(validate, data, train, evaluate, register).",
    tags=["training", "pipelines"],
    time_from="now-7d",
    variables=[
        variable("env", "label_values(aip_pipeline_last_run_timestamp_seconds, env)", "Environment"),
        variable(
            "model", 'label_values(aip_pipeline_last_run_timestamp_seconds{env=~"$env"}, model)', "Model"
        ),
    ],
    rows=[
        Row(
            "Status",
            [
                stat(
                    "Last run failed",
                    "Per model and environment: whether the most recent `aip run` failed (red) or succeeded.",
                    [
                        Query(
                            f"1 - max by (model, env) (aip_pipeline_last_run_success{{{SEL}}})",
                            "{{model}} @{{env}}",
                            instant=True,
                        )
                    ],
                    thresholds=[(1, "red")],
                    mappings=boolean_mappings("failed", "ok"),
                ),
                stat(
                    "Since last success",
                    "Time since the last successful run; a model that has not succeeded for days is stale.",
                    [
                        Query(
                            f"time() - max by (model, env) (aip_pipeline_last_success_timestamp_seconds{{{SEL}}})",
                            "{{model}} @{{env}}",
                            instant=True,
                        )
                    ],
                    unit="s",
                    thresholds=[(86400 * 7, "#EAB839"), (86400 * 30, "red")],
                ),
                stat(
                    "Runs in range",
                    "Runs in the time range picked, by outcome (success, failed).",
                    [
                        Query(
                            f"sum by (status) (increase(aip_pipeline_runs_total{{{SEL}}}[$__range]))",
                            "{{status}}",
                            instant=True,
                        )
                    ],
                    decimals=0,
                ),
            ],
        ),
        Row(
            "Runs",
            [
                timeseries(
                    "Runs per hour",
                    "Runs per hour by model and outcome.",
                    [
                        Query(
                            f"sum by (model, status) (increase(aip_pipeline_runs_total{{{SEL}}}[1h]))",
                            "{{model}}: {{status}}",
                        )
                    ],
                    stack=True,
                ),
                timeseries(
                    "Step durations",
                    "Seconds the last run of each model spent in each step; training dominates when a new "
                    "fingerprint trains, and is near zero when the fingerprint was already registered.",
                    [
                        Query(
                            f"max by (model, step) (aip_pipeline_step_duration_seconds{{{SEL}}})",
                            "{{model}}: {{step}}",
                        )
                    ],
                    unit="s",
                ),
            ],
        ),
        Row(
            "Last runs",
            [
                table(
                    "Last run per model",
                    "When each model last ran in each environment.",
                    [Query(f"max by (model, env) (aip_pipeline_last_run_timestamp_seconds{{{SEL}}}) * 1000")],
                    unit="dateTimeAsIso",
                ),
            ],
        ),
    ],
)
