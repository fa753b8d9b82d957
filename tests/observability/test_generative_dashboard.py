"""The generative endpoints' dashboard and alerts: they read every chat-completion metric of the
catalogue, the thresholds drawn on the panels are the alerts' thresholds, and each alert links its
runbook (the general checks of test_dashboards_and_rules.py cover PromQL, promtool and rendering)."""

from __future__ import annotations

import json
import re
import sys

import pytest
from ruamel.yaml import YAML

from pipelines.observability import dashboards, promql
from pipelines.observability.catalogue import CATALOGUE
from tests.support.repo import REPO_ROOT

ALERTS = REPO_ROOT / "dashboards" / "alerts" / "generative.rules.yml"
RENDERED = REPO_ROOT / "dashboards" / "rendered" / "generative.json"
CHAT_METRICS = {m.name for m in CATALOGUE if m.name.startswith(("aip_llm_", "aip_retrieval_"))}


@pytest.fixture(scope="module")
def board() -> dict:
    return dict(json.loads(RENDERED.read_text()))


@pytest.fixture(scope="module")
def rules() -> dict[str, dict]:
    data = YAML(typ="safe").load(ALERTS.read_text())
    return {r["alert"]: r for g in data["groups"] for r in g["rules"]}


@pytest.fixture(scope="module")
def thresholds():
    sys.path.insert(0, str(REPO_ROOT / "dashboards"))
    try:
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "generative_dashboard", REPO_ROOT / "dashboards" / "generative.dashboard.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(REPO_ROOT / "dashboards"))
        sys.modules.pop("house_style", None)
    return module


def test_the_dashboard_reads_every_chat_completion_metric(board):
    assert {"aip_llm_requests_total", "aip_retrieval_duration_seconds"} <= CHAT_METRICS
    read = set().union(*(promql.metric_names(e.expr) for e in promql.in_dashboard(RENDERED)))
    series = {re.sub(r"_(bucket|count|sum)$", "", n) for n in read}
    assert series >= CHAT_METRICS, CHAT_METRICS - series
    panels = [p for p in dashboards.panels(board) if p["type"] != "row"]
    assert board["uid"] == "aip-generative" and all(p.get("description") for p in panels)
    assert {v["name"] for v in board["templating"]["list"]} >= {"prompt", "version", "label"}


def _panel(board: dict, title: str) -> dict:
    return next(p for p in dashboards.panels(board) if p.get("title") == title)


def _threshold_line(panel: dict) -> float:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return float(steps[-1]["value"])


def _compared(expr: str) -> float:
    """The number the alert's condition compares against: `(...) > N` before the traffic guard."""
    match = re.search(r"\)\s*>\s*([0-9.]+)\s*\n\s*and", expr)
    assert match, expr
    return float(match.group(1))


@pytest.mark.parametrize(
    ("alert", "panel", "constant"),
    [
        ("AipLlmHighErrorRatio", "Error ratio", "ERROR_RATIO_ALERT"),
        ("AipLlmSlowTimeToFirstToken", "Time to first token p50, p95", "TTFT_P95_ALERT_SECONDS"),
        ("AipLlmRefusalSpike", "Refusal ratio by reason", "REFUSAL_RATIO_ALERT"),
    ],
)
def test_the_panels_draw_the_alerts_thresholds(board, rules, thresholds, alert, panel, constant):
    value = getattr(thresholds, constant)
    assert _compared(rules[alert]["expr"]) == value, f"{alert}: rule and dashboard constant differ"
    assert _threshold_line(_panel(board, panel)) == value
    assert alert in _panel(board, panel)["description"]


def test_every_generative_alert_needs_traffic_and_links_its_own_runbook(rules):
    assert set(rules) == {"AipLlmHighErrorRatio", "AipLlmSlowTimeToFirstToken", "AipLlmRefusalSpike"}
    for name, rule in rules.items():
        assert re.search(r"increase\([^)]*\[\w+\]\)\)\s*>=\s*20", rule["expr"]), f"{name}: no traffic guard"
        page = rule["annotations"]["runbook_url"].split("/blob/main/", 1)[1]
        text = (REPO_ROOT / page).read_text()
        assert text.startswith(f"# {name}\n"), f"{page} is not {name}'s runbook"
        assert "## Diagnose" in text and "## Mitigate" in text
