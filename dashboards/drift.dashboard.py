"""Data and prediction drift: the results of `aip drift` per model, and the live prediction distribution."""

from house_style import Query, Row, boolean_mappings, dashboard, stat, table, timeseries, variable

SEL = 'model=~"$model", env=~"$env"'

dashboard = dashboard(
    uid="aip-drift",
    title="AI platform / Data and prediction drift",
    description="aip drift against the training reference: drift per model, per feature and method, the "
    "sampled window, live quality once labels arrive, and the live prediction distribution.",
    tags=["drift", "monitoring"],
    time_from="now-30d",
    variables=[
        variable("env", "label_values(aip_drift_last_run_timestamp_seconds, env)", "Environment"),
        variable("model", 'label_values(aip_drift_last_run_timestamp_seconds{env=~"$env"}, model)', "Model"),
    ],
    rows=[
        Row(
            "Verdict",
            [
                stat(
                    "Drift detected",
                    "Whether the last drift check passed the model's thresholds (model.yaml monitoring.drift); "
                    "this is the condition that makes `aip drift` exit 3 and open a retraining issue.",
                    [
                        Query(
                            f"max by (model, env) (aip_drift_detected{{{SEL}}})",
                            "{{model}} @{{env}}",
                            instant=True,
                        )
                    ],
                    thresholds=[(1, "red")],
                    mappings=boolean_mappings("drift", "no drift"),
                ),
                stat(
                    "Drifted features",
                    "Share of features whose test fired; dataset drift is declared at "
                    "monitoring.drift.drift_share (0.5 by default, as in Evidently).",
                    [
                        Query(
                            f"max by (model, env) (aip_drift_drifted_features_ratio{{{SEL}}})",
                            "{{model}} @{{env}}",
                            instant=True,
                        )
                    ],
                    unit="percentunit",
                    thresholds=[(0.25, "#EAB839"), (0.5, "red")],
                ),
                stat(
                    "Window samples",
                    "Sampled requests in the last check's window; below monitoring.min_samples the check "
                    "reports insufficient data instead of a verdict.",
                    [
                        Query(
                            f"max by (model, env) (aip_drift_window_samples{{{SEL}}})",
                            "{{model}} @{{env}}",
                            instant=True,
                        )
                    ],
                    decimals=0,
                ),
                stat(
                    "Since last check",
                    "Time since `aip drift` last ran (the drift workflow runs it daily).",
                    [
                        Query(
                            f"time() - max by (model, env) (aip_drift_last_run_timestamp_seconds{{{SEL}}})",
                            "{{model}} @{{env}}",
                            instant=True,
                        )
                    ],
                    unit="s",
                    thresholds=[(86400 * 2, "red")],
                ),
            ],
        ),
        Row(
            "Scores",
            [
                table(
                    "Top drift scores (PSI)",
                    "The ten features with the highest population stability index in the last check "
                    "(0.1 is Evidently's default drift threshold for PSI).",
                    [Query(f'topk(10, aip_drift_score{{{SEL}, method="psi"}})')],
                ),
                timeseries(
                    "Drift scores over time",
                    "Every feature's drift score of the method that decides it, check by check.",
                    [
                        Query(
                            f'max by (model, feature, method) (aip_drift_score{{{SEL}, method=~"ks_stat|psi|'
                            f'jensenshannon|chi2_stat"}})',
                            "{{model}} {{feature}} ({{method}})",
                        )
                    ],
                ),
                timeseries(
                    "Text and prediction drift",
                    "Embedding drift of text inputs (domain-classifier ROC AUC, 0.5 = no drift) and the PSI "
                    "of the predicted-class distribution against the reference.",
                    [
                        Query(
                            f'max by (model, feature, method) (aip_drift_score{{{SEL}, feature=~"text_embedding|'
                            f'prediction"}})',
                            "{{model}} {{feature}} ({{method}})",
                        )
                    ],
                ),
            ],
        ),
        Row(
            "Live",
            [
                timeseries(
                    "Live quality",
                    "Accuracy and macro-F1 on the window's requests whose ground-truth labels arrived "
                    "(feedback file or endpoint).",
                    [
                        Query(
                            f"max by (model, metric) (aip_drift_live_quality_score{{{SEL}}})",
                            "{{model}} {{metric}}",
                        )
                    ],
                    unit="percentunit",
                    maximum=1,
                ),
                timeseries(
                    "Live prediction distribution",
                    "Share of each predicted class over the last hour as the servers answer it.",
                    [
                        Query(
                            'sum by (model, class) (increase(aip_serving_predictions_total{model=~"$model"}[1h])) '
                            "/ ignoring (class) group_left sum by (model) "
                            '(increase(aip_serving_predictions_total{model=~"$model"}[1h]))',
                            "{{model}}: {{class}}",
                        )
                    ],
                    unit="percentunit",
                    maximum=1,
                    stack=True,
                ),
                timeseries(
                    "Samples written",
                    "Requests per second the servers sample into the drift sink (monitoring.sample_rate; zero "
                    "where the privacy setting turns sampling off).",
                    [
                        Query(
                            'sum by (model) (rate(aip_serving_samples_written_total{model=~"$model"}'
                            "[$__rate_interval]))",
                            "{{model}}",
                        )
                    ],
                    unit="reqps",
                ),
            ],
        ),
    ],
)
