"""House style shared by every `<name>.dashboard.py`: datasource, variables, panels, colours, layout.

A dashboard file builds its panels with the helpers below and assigns `dashboard = house_style.dashboard(...)`.
`aip dashboards build` renders every dashboard to dashboards/rendered/<name>.json (provisioned into Grafana
by infra/modules/monitoring) and writes docs/dashboards.md from the titles, descriptions and queries.

Conventions:
- Every panel has a description (it becomes the panel's tooltip and its paragraph in the docs).
- Queries use `$__rate_interval` for rates and `$__range` for "over the time picked"; never a `job` label
  that the platform's own exporters set (Prometheus sets `job` on scrape).
- Stable is blue, canary is orange, everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grafanalib import core as g

DATASOURCE = "${datasource}"
STABLE_COLOUR = "#1F60C4"  # blue
CANARY_COLOUR = "#FF9830"  # orange
OK_COLOUR = "green"
WARN_COLOUR = "#EAB839"
BAD_COLOUR = "red"
GRID_WIDTH = 24  # Grafana's grid is 24 units wide
PANEL_HEIGHT = 8
SERVING_ERROR_CODES = "5..|429"  # server errors and queue-full rejections count against the SLO

# SLO targets, shared with dashboards/alerts/slo.rules.yml (a test checks they agree).
AVAILABILITY_SLO = 0.999  # 99.9% of requests answered without a 5xx or 429
LATENCY_SLO = 0.99  # 99% of requests answered within LATENCY_SLO_SECONDS
LATENCY_SLO_SECONDS = "0.25"  # a histogram bucket boundary of aip_serving_request_duration_seconds
# The SLOs count predictions only: `:explain` (SHAP, ~10x a prediction's latency, rate-limited with 429 on
# purpose) is left out, as in the canary analysis (pipelines/deploy/metrics.py).
SLO_REQUESTS = 'api!="explain"'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False


def datasource_variable() -> g.Template:
    return g.Template(
        name="datasource",
        query="prometheus",
        type="datasource",
        label="Data source",
        default="Prometheus",
    )


def variable(
    name: str, query: str, label: str, *, include_all: bool = True, multi: bool = True
) -> g.Template:
    """A query variable over label values, e.g. variable('model', 'label_values(m, model)', 'Model')."""
    return g.Template(
        name=name,
        query=query,
        dataSource=DATASOURCE,
        label=label,
        includeAll=include_all,
        multi=multi,
        allValue=".*",
        default="$__all" if include_all else None,
        refresh=2,  # on time-range change: new versions appear without a reload
        sort=1,
    )


def _targets(queries: Sequence[Query]) -> list[g.Target]:
    return [
        g.Target(
            expr=q.expr,
            legendFormat=q.legend,
            refId=chr(ord("A") + i),
            instant=q.instant,
            datasource=DATASOURCE,
        )
        for i, q in enumerate(queries)
    ]


def _label_colour_overrides() -> list[dict[str, object]]:
    """Series whose name contains 'stable' are blue, 'canary' orange."""
    return [
        {
            "matcher": {"id": "byRegexp", "options": f".*{name}.*"},
            "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": colour}}],
        }
        for name, colour in (("stable", STABLE_COLOUR), ("canary", CANARY_COLOUR))
    ]


def timeseries(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str = "short",
    minimum: float | None = 0,
    maximum: float | None = None,
    stack: bool = False,
    thresholds: Sequence[tuple[float, str]] = (),
) -> g.TimeSeries:
    steps = [g.Threshold(OK_COLOUR, 0, 0.0)] + [
        g.Threshold(colour, i + 1, float(value)) for i, (value, colour) in enumerate(thresholds)
    ]
    return g.TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        unit=unit,
        valueMin=minimum,
        valueMax=maximum,
        fillOpacity=10,
        lineWidth=2,
        legendDisplayMode="table",
        legendPlacement="bottom",
        legendCalcs=["mean", "max", "lastNotNull"],
        tooltipMode="multi",
        stacking={"mode": "normal", "group": "A"} if stack else {"mode": "none", "group": "A"},
        thresholds=steps,
        thresholdsStyleMode="line" if thresholds else "off",
        overrides=_label_colour_overrides(),
    )


def stat(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str = "short",
    thresholds: Sequence[tuple[float, str]] = (),
    mappings: Sequence[dict[str, object]] = (),
    reduce: str = "lastNotNull",
    decimals: int | None = None,
) -> g.Stat:
    steps = [g.Threshold(OK_COLOUR, 0, 0.0)] + [
        g.Threshold(colour, i + 1, float(value)) for i, (value, colour) in enumerate(thresholds)
    ]
    return g.Stat(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        format=unit,
        reduceCalc=reduce,
        graphMode="area",
        colorMode="background" if thresholds else "value",
        thresholds=steps,
        mappings=list(mappings),
        decimals=decimals,
    )


def table(title: str, description: str, queries: Sequence[Query], *, unit: str = "short") -> g.Table:
    return g.Table(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=[
            g.Target(
                expr=q.expr,
                legendFormat=q.legend,
                refId=chr(ord("A") + i),
                instant=True,
                format="table",
                datasource=DATASOURCE,
            )
            for i, q in enumerate(queries)
        ],
        unit=unit,
        filterable=True,
        transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}],
    )


def boolean_mappings(true_text: str, false_text: str) -> list[dict[str, object]]:
    """Value mappings for 0/1 gauges (1 = the bad state, shown red)."""
    return [
        {
            "type": "value",
            "options": {
                "0": {"text": false_text, "color": OK_COLOUR, "index": 0},
                "1": {"text": true_text, "color": BAD_COLOUR, "index": 1},
            },
        }
    ]


@dataclass(frozen=True)
class Row:
    title: str
    panels: Sequence[g.Panel]
    height: int = PANEL_HEIGHT


def dashboard(
    *,
    uid: str,
    title: str,
    description: str,
    rows: Sequence[Row],
    variables: Sequence[g.Template] = (),
    tags: Sequence[str] = (),
    time_from: str = "now-6h",
) -> g.Dashboard:
    """A dashboard in house style: rows of equal-width panels, a datasource variable, UTC, ids assigned."""
    panels: list[g.Panel] = []
    y = 0
    for row in rows:
        panels.append(g.RowPanel(title=row.title, gridPos=g.GridPos(h=1, w=GRID_WIDTH, x=0, y=y)))
        y += 1
        width = GRID_WIDTH // max(1, len(row.panels))
        for i, panel in enumerate(row.panels):
            panel.gridPos = g.GridPos(h=row.height, w=width, x=i * width, y=y)
            panels.append(panel)
        y += row.height
    board = g.Dashboard(
        title=title,
        uid=uid,
        description=description,
        tags=["ai-platform", *tags],
        timezone="utc",
        refresh="30s",
        time=g.Time(time_from, "now"),
        editable=False,  # dashboards change through pull requests, not the UI
        sharedCrosshair=True,
        templating=g.Templating(list=[datasource_variable(), *variables]),
        panels=panels,
    )
    return board.auto_panel_ids()
