"""The evaluation report: markdown (PR comments, MLflow) and self-contained HTML (plots inlined)."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from pipelines.config import METRICS
from pipelines.evaluate.behavioural import BehaviouralResult
from pipelines.evaluate.gates import GateResult

__all__ = ["render_html", "render_markdown", "write_reports"]


def _num(x: float | None) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:.4f}"


def _delta(value: float, champion: float | None, metric: str) -> str:
    if champion is None or math.isnan(champion) or math.isnan(value):
        return "—"
    diff = value - champion
    better = diff > 0 if METRICS[metric] else diff < 0
    mark = "▲" if better else ("▼" if diff != 0 else "=")
    return f"{diff:+.4f} {mark}"


def _metric_rows(metrics: Mapping[str, float], champion: Mapping[str, float] | None) -> list[list[str]]:
    rows = []
    for name in METRICS:
        if name not in metrics:
            continue
        row = [name, "higher" if METRICS[name] else "lower", _num(metrics[name])]
        if champion is not None:
            row += [_num(champion.get(name)), _delta(metrics[name], champion.get(name), name)]
        rows.append(row)
    return rows


def _gate_rows(gates: Sequence[GateResult]) -> list[list[str]]:
    return [
        ["PASS" if g.passed else "FAIL", g.gate, _num(g.value), _num(g.threshold), g.message]
        for g in sorted(gates, key=lambda g: g.passed)
    ]


def _behavioural_rows(results: Sequence[BehaviouralResult]) -> list[list[str]]:
    return [["PASS" if r.passed else "FAIL", r.kind, r.name, r.detail] for r in results]


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(r) for r in rows)])


def _sections(
    metrics: Mapping[str, float],
    champion: Mapping[str, float] | None,
    champion_label: str | None,
    gates: Sequence[GateResult],
    behavioural: Sequence[BehaviouralResult],
) -> list[tuple[str, list[str], list[list[str]]]]:
    metric_header = ["metric", "better", "candidate"]
    if champion is not None:
        metric_header += [f"champion ({champion_label or 'current'})", "difference"]
    return [
        ("Metrics (test split)", metric_header, _metric_rows(metrics, champion)),
        ("Gates", ["result", "gate", "value", "threshold", "detail"], _gate_rows(gates)),
        ("Behavioural tests", ["result", "kind", "case", "detail"], _behavioural_rows(behavioural)),
    ]


def render_markdown(
    title: str,
    passed: bool,
    metrics: Mapping[str, float],
    champion: Mapping[str, float] | None,
    champion_label: str | None,
    gates: Sequence[GateResult],
    behavioural: Sequence[BehaviouralResult],
    plots: Sequence[Path],
    facts: Mapping[str, str],
) -> str:
    parts = [
        f"# {title}",
        "",
        f"**{'PASSED' if passed else 'FAILED'}**: {sum(g.passed for g in gates)}/{len(gates)} gates passed.",
        "",
    ]
    parts += [f"- {k}: {v}" for k, v in facts.items()] + [""]
    for heading, header, rows in _sections(metrics, champion, champion_label, gates, behavioural):
        parts += [f"## {heading}", "", _md_table(header, rows) if rows else "_none_", ""]
    if plots:
        # Plots live in plots/ beside the report, here and in the MLflow run's evaluation/ folder.
        parts += ["## Plots", ""] + [f"![{p.stem}]({p.parent.name}/{p.name})" for p in plots] + [""]
    return "\n".join(parts)


def render_html(
    title: str,
    passed: bool,
    metrics: Mapping[str, float],
    champion: Mapping[str, float] | None,
    champion_label: str | None,
    gates: Sequence[GateResult],
    behavioural: Sequence[BehaviouralResult],
    plots: Sequence[Path],
    facts: Mapping[str, str],
) -> str:
    esc = html.escape
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left;font-size:14px}th{background:#f3f3f3}.PASS{color:#137333;font-weight:bold}"
        ".FAIL{color:#b3261e;font-weight:bold}img{max-width:100%;margin:0.5em 0}</style>",
        "</head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="{"PASS" if passed else "FAIL"}">{"PASSED" if passed else "FAILED"}: '
        f"{sum(g.passed for g in gates)}/{len(gates)} gates passed.</p>",
        "<ul>" + "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in facts.items()) + "</ul>",
    ]
    for heading, header, rows in _sections(metrics, champion, champion_label, gates, behavioural):
        out.append(f"<h2>{esc(heading)}</h2>")
        if not rows:
            out.append("<p><em>none</em></p>")
            continue
        out.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
        for row in rows:
            cells = "".join(
                f'<td class="{esc(c)}">{esc(c)}</td>' if c in ("PASS", "FAIL") else f"<td>{esc(c)}</td>"
                for c in row
            )
            out.append(f"<tr>{cells}</tr>")
        out.append("</table>")
    if plots:
        out.append("<h2>Plots</h2>")
        for p in plots:
            data = base64.b64encode(p.read_bytes()).decode("ascii")
            out.append(f'<figure><img alt="{esc(p.stem)}" src="data:image/png;base64,{data}"></figure>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_reports(out_dir: Path, **content: object) -> tuple[Path, Path]:
    """Write report.md and report.html into out_dir; `content` are render_markdown's arguments."""
    md = out_dir / "report.md"
    page = out_dir / "report.html"
    md.write_text(render_markdown(**content), encoding="utf-8")  # type: ignore[arg-type]
    page.write_text(render_html(**content), encoding="utf-8")  # type: ignore[arg-type]
    return md, page
