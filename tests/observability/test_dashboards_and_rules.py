"""Dashboards, alert rules and the metric catalogue stay in step with the code (no Grafana runs here).

promtool (Debian's `prometheus` package) must be installed: tests that need it fail, not skip, without it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pipelines.observability import dashboards, promql, rules
from pipelines.observability.catalogue import CATALOGUE, EXTERNAL_EXPORTERS
from pipelines.observability.metrics_doc import render as render_metrics_doc
from tests.support.repo import REPO_ROOT

EXPECTED_DASHBOARDS = {
    "canary-rollout",
    "drift",
    "generative",
    "gpu-runners",
    "model-serving",
    "platform-slo",
    "training-pipelines",
}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool not found on PATH: install Debian's package with `apt-get install -y prometheus`"
        )
    return path


def copy_dashboards(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(
        REPO_ROOT / "dashboards", root / "dashboards", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / "docs").mkdir()
    shutil.copy2(REPO_ROOT / "docs" / "dashboards.md", root / "docs" / "dashboards.md")
    return root


# ---- dashboards ----------------------------------------------------------------------------------
def test_every_dashboard_renders_and_none_went_missing():
    boards = dashboards.render_all(REPO_ROOT)
    assert set(boards) == EXPECTED_DASHBOARDS  # a deleted or added dashboard must be noticed here
    for name, data in boards.items():
        assert data["uid"] == f"aip-{name}"
        panels = [p for p in dashboards.panels(data) if p["type"] != "row"]
        assert len(panels) >= 3, name
        assert all(p.get("description") for p in panels), f"{name}: every panel needs a description"
        ids = [p["id"] for p in dashboards.panels(data)]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"


def test_committed_rendering_matches_the_code():
    result = dashboards.build(REPO_ROOT, check=True)
    assert result.ok, f"stale: {result.stale}; run `aip dashboards build`"
    rendered = {p.stem for p in (REPO_ROOT / "dashboards" / "rendered").glob("*.json")}
    assert rendered == EXPECTED_DASHBOARDS


def test_check_fails_on_an_edited_dashboard_and_on_an_orphan(tmp_path: Path):
    root = copy_dashboards(tmp_path)
    assert dashboards.build(root, check=True).ok
    source = root / "dashboards" / "drift.dashboard.py"
    source.write_text(source.read_text().replace('"Drift detected"', '"Drift found"'))
    assert [p.name for p in dashboards.build(root, check=True).stale] == ["drift.json", "dashboards.md"]
    dashboards.build(root)
    assert dashboards.build(root, check=True).ok
    (root / "dashboards" / "rendered" / "deleted-long-ago.json").write_text("{}")
    assert [p.name for p in dashboards.build(root, check=True).stale] == ["deleted-long-ago.json"]


def test_dashboards_build_check_cli(tmp_path: Path):
    from tests.support.cli import AIP

    root = copy_dashboards(tmp_path)
    shutil.copy2(REPO_ROOT / "platform.yaml", root / "platform.yaml")
    env = {"AIP_REPO": str(root), "PATH": "/usr/bin:/bin"}
    ok = subprocess.run(
        [*AIP, "dashboards", "build", "--check"], env=env, capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    (root / "dashboards" / "rendered" / "gpu-runners.json").write_text("{}\n")
    stale = subprocess.run(
        [*AIP, "dashboards", "build", "--check"], env=env, capture_output=True, text=True, check=False
    )
    assert stale.returncode == 1
    assert "dashboards/rendered/gpu-runners.json" in stale.stderr and "aip dashboards build" in stale.stderr


def test_a_broken_dashboard_file_names_itself(tmp_path: Path):
    root = copy_dashboards(tmp_path)
    (root / "dashboards" / "broken.dashboard.py").write_text("dashboard = None\n")
    with pytest.raises(
        dashboards.DashboardError, match=r"broken\.dashboard\.py: defines no grafanalib Dashboard"
    ):
        dashboards.render_all(root)


# ---- PromQL against the catalogue ----------------------------------------------------------------
def test_every_promql_expression_reads_only_known_metrics():
    assert promql.unknown_metrics(REPO_ROOT) == []


def test_the_check_covers_every_panel_and_rule():
    exprs = [
        e for p in (REPO_ROOT / "dashboards" / "rendered").glob("*.json") for e in promql.in_dashboard(p)
    ]
    targets = sum(
        len(panel.get("targets", []))
        for p in (REPO_ROOT / "dashboards" / "rendered").glob("*.json")
        for panel in dashboards.panels(json.loads(p.read_text()))
    )
    variables = sum(
        1
        for p in (REPO_ROOT / "dashboards" / "rendered").glob("*.json")
        for v in json.loads(p.read_text())["templating"]["list"]
        if v["type"] == "query"
    )
    assert len(exprs) == targets + variables > 50
    names = set().union(*(promql.metric_names(e.expr) for e in exprs))
    assert {
        "aip_serving_requests_total",
        "DCGM_FI_DEV_GPU_UTIL",
        "aip:serving_request_errors:ratio_rate1h",
    } <= names


def test_a_dashboard_reading_an_unknown_metric_fails(tmp_path: Path):
    root = copy_dashboards(tmp_path)
    source = root / "dashboards" / "model-serving.dashboard.py"
    source.write_text(source.read_text().replace("aip_serving_queue_depth{", "aip_serving_queue_length{"))
    dashboards.build(root)
    problems = promql.unknown_metrics(root)
    assert len(problems) == 1
    assert (
        "model-serving.json: panel 'Queue depth': metric 'aip_serving_queue_length' is not in" in problems[0]
    )


def test_a_rule_reading_an_unknown_metric_or_invalid_promql_fails(tmp_path: Path):
    root = copy_dashboards(tmp_path)
    path = root / "dashboards" / "alerts" / "platform.rules.yml"
    text = path.read_text().replace("max by (model, env) (aip_drift_detected) == 1", "aip_drift_found == 1")
    path.write_text(text.replace("expr: vector(1)", "expr: sum(rate(up[5m])"))
    problems = promql.unknown_metrics(root)
    assert any("AipDriftDetected: metric 'aip_drift_found'" in p for p in problems)
    assert any("Watchdog: invalid PromQL" in p for p in problems)


def test_grafana_variables_and_label_values_queries_parse():
    assert promql.metric_names('label_values(aip_serving_requests_total{model=~"$model"}, version)') == {
        "aip_serving_requests_total"
    }
    assert promql.metric_names("rate(node_cpu_seconds_total[$__rate_interval])") == {"node_cpu_seconds_total"}
    assert promql.metric_names('{__name__="aip_drift_score"}') == {"aip_drift_score"}


def test_external_exporters_match_exact_names_or_prefixes():
    assert promql.is_external("up") and promql.is_external("DCGM_FI_DEV_GPU_TEMP")
    assert not promql.is_external("upstream_requests_total")
    assert "node-exporter" in EXTERNAL_EXPORTERS and "dcgm-exporter" in EXTERNAL_EXPORTERS


# ---- the catalogue ---------------------------------------------------------------------------------
@pytest.mark.parametrize("metric", CATALOGUE, ids=lambda m: m.name)
def test_catalogue_names_follow_prometheus_conventions(metric):
    assert re.fullmatch(r"aip_[a-z][a-z0-9_]*", metric.name)
    assert metric.name.endswith("_total") == (metric.kind == "counter")
    assert "job" not in metric.labels and "instance" not in metric.labels
    assert not re.search(r"_(milliseconds|ms|percent|bytes_total_seconds)$", metric.name)
    assert metric.help.endswith(".")
    assert (metric.buckets is not None) == (metric.kind == "histogram")


def test_metrics_doc_is_current_and_lists_every_metric():
    text = (REPO_ROOT / "docs" / "metrics.md").read_text()
    assert text == render_metrics_doc(), "docs/metrics.md is stale: run `aip metrics docs`"
    assert all(f"`{m.name}`" in text for m in CATALOGUE)


# ---- rules -----------------------------------------------------------------------------------------
def test_promtool_checks_every_rule_file():
    files = [str(p) for p in rules.rule_files(REPO_ROOT)]
    assert len(files) >= 2
    proc = subprocess.run([promtool(), "check", "rules", *files], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_unit_tests_pass_and_every_alert_has_one():
    tests = sorted((REPO_ROOT / "dashboards" / "alerts" / "tests").glob("*.test.yml"))
    proc = subprocess.run(
        [promtool(), "test", "rules", *map(str, tests)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tested = set(re.findall(r"alertname:\s*(\w+)", "".join(p.read_text() for p in tests)))
    assert {str(rule["alert"]) for _, rule in rules.alerts(REPO_ROOT)} <= tested


def test_promtool_unit_tests_can_fail(tmp_path: Path):
    alerts = tmp_path / "alerts"
    shutil.copytree(REPO_ROOT / "dashboards" / "alerts", alerts)
    rule_file = alerts / "platform.rules.yml"
    rule_file.write_text(rule_file.read_text().replace("for: 5m", "for: 1h"))  # training alert now too late
    proc = subprocess.run(
        [promtool(), "test", "rules", str(alerts / "tests" / "platform.test.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0 and "AipTrainingFailing" in proc.stdout + proc.stderr


def test_every_alert_has_severity_summary_description_and_a_runbook():
    assert rules.problems(REPO_ROOT) == []
    names = {str(rule["alert"]) for _, rule in rules.alerts(REPO_ROOT)}
    assert {
        "Watchdog",
        "AipServingErrorBudgetBurn",
        "AipServingLatencyBudgetBurn",
        "AipCanaryFailed",
        "AipDriftDetected",
        "AipTrainingFailing",
        "AipRunnerOffline",
    } <= names


def test_an_alert_without_runbook_url_fails(tmp_path: Path):
    root = copy_dashboards(tmp_path)
    shutil.copytree(REPO_ROOT / "docs" / "runbooks", root / "docs" / "runbooks")
    assert rules.problems(root) == []
    path = root / "dashboards" / "alerts" / "platform.rules.yml"
    lines = path.read_text().splitlines(keepends=True)
    drop = next(i for i, line in enumerate(lines) if "runbooks/canary-failed.md" in line)
    path.write_text("".join(lines[:drop] + lines[drop + 1 :]))
    (root / "docs" / "runbooks" / "watchdog.md").unlink()
    problems = rules.problems(root)
    assert "platform.rules.yml: alert AipCanaryFailed: annotations.runbook_url is missing" in problems
    assert "platform.rules.yml: alert Watchdog: runbook docs/runbooks/watchdog.md does not exist" in problems


def load_house_style():
    import sys

    sys.path.insert(0, str(REPO_ROOT / "dashboards"))
    try:
        import house_style
    finally:
        sys.path.remove(str(REPO_ROOT / "dashboards"))
        sys.modules.pop("house_style", None)
    return house_style


def test_slo_targets_agree_between_dashboards_and_rules():
    house_style = load_house_style()
    text = (REPO_ROOT / "dashboards" / "alerts" / "slo.rules.yml").read_text()
    assert f'le="{house_style.LATENCY_SLO_SECONDS}"' in text
    assert f"* {round(1 - house_style.AVAILABILITY_SLO, 6)})" in text
    assert f"* {round(1 - house_style.LATENCY_SLO, 6)})" in text
    assert f'code=~"{house_style.SERVING_ERROR_CODES}"' in text


SERVING_SELECTOR = re.compile(
    r"\b(aip_serving_requests_total|aip_serving_request_duration_seconds_\w+)(\{[^}]*\})?"
)
# Panels judging serving against the SLO (or the canary analysis) count the same requests as the rules.
SLO_PANELS = {
    "platform-slo": {
        "Availability (30 days)",
        "Error budget left (30 days)",
        "Fast requests (30 days)",
        "Latency budget left (30 days)",
    },
    "model-serving": {"Error rate", "Latency p50", "Latency p95", "Latency p99"},
    "canary-rollout": {"Error rate", "Latency p95 and p99"},
}


def test_slo_rules_and_slo_panels_leave_explain_requests_out():
    exclusion = load_house_style().SLO_REQUESTS
    assert exclusion == 'api!="explain"'
    groups = yaml.safe_load((REPO_ROOT / "dashboards" / "alerts" / "slo.rules.yml").read_text())["groups"]
    ratio = ("aip:serving_request_errors:", "aip:serving_request_slow:")
    ratio_rules = [r for g in groups for r in g["rules"] if str(r.get("record", "")).startswith(ratio)]
    assert len(ratio_rules) == 14  # errors and slow, over 5m, 30m, 1h, 2h, 6h, 1d and 3d
    for rule in ratio_rules:
        selectors = SERVING_SELECTOR.findall(rule["expr"])
        assert len(selectors) >= 2, rule["record"]
        assert all(exclusion in labels for _, labels in selectors), f"{rule['record']}: {rule['expr']}"

    boards = dashboards.render_all(REPO_ROOT)
    for name, titles in SLO_PANELS.items():
        checked = set()
        for panel in dashboards.panels(boards[name]):
            if panel["title"] not in titles:
                continue
            checked.add(panel["title"])
            for target in panel["targets"]:
                selectors = SERVING_SELECTOR.findall(target["expr"])
                assert selectors, f"{name}: {panel['title']}"
                assert all(exclusion in labels for _, labels in selectors), f"{name}: {panel['title']}"
        assert checked == titles, f"{name}: panels renamed or gone: {titles - checked}"
