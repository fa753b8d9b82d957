"""The evaluation report: markdown (PR comments, MLflow) and self-contained HTML (plots inlined).

Changes against the champion are said in words (better / worse / same) from each metric's
direction, never with arrows, and a change whose bootstrap interval includes 0 is marked as within
the noise of the split. `pipelines/gitops/comment.py` reads the champion column of the markdown
metrics table: it stays a bare number under a `champion (...)` header.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.config import METRICS
from pipelines.evaluate.behavioural import BehaviouralResult
from pipelines.evaluate.bootstrap import Interval
from pipelines.evaluate.gates import GateResult

if TYPE_CHECKING:
    from pipelines.explain import ExplanationSection

__all__ = ["Report", "change_in_words", "render_html", "render_markdown", "write_reports"]


@dataclass
class Report:
    title: str
    passed: bool
    metrics: Mapping[str, float]
    gates: Sequence[GateResult]
    behavioural: Sequence[BehaviouralResult]
    facts: Mapping[str, str] = field(default_factory=dict)
    """Header lines: model, version, run, fingerprint, data, date, champion."""
    findings: Sequence[str] = ()
    """Sentences shown under the verdict (pipelines/evaluate/findings.py)."""
    intervals: Mapping[str, Interval] | None = None
    baseline: Mapping[str, float] | None = None
    champion: Mapping[str, float] | None = None
    champion_label: str | None = None
    change_intervals: Mapping[str, Interval] | None = None
    confidence: float = 0.95
    n_resamples: int = 0
    plots: Sequence[Path] = ()
    explanation: ExplanationSection | None = None
    """The SHAP section (pipelines/explain/section.py), shown before the plots; None: no section."""


def _num(x: float | None) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:.4f}"


def change_in_words(
    value: float, champion: float | None, metric: str, interval: Interval | None = None
) -> str:
    """`+0.0196 worse` for log_loss (lower is better); `(within noise)` when the interval holds 0."""
    if champion is None or math.isnan(champion) or math.isnan(value):
        return "—"
    diff = value - champion
    if diff == 0:
        return f"{diff:+.4f} same"
    better = diff > 0 if METRICS[metric] else diff < 0
    text = f"{diff:+.4f} {'better' if better else 'worse'}"
    if interval is not None and not math.isnan(interval.low) and interval.contains(0.0):
        text += " (within noise)"
    return text


def _metric_table(r: Report) -> tuple[list[str], list[list[str]]]:
    pct = f"{r.confidence:.0%} CI"
    header = ["metric", "better", "candidate"]
    header += [pct] if r.intervals is not None else []
    header += ["majority baseline"] if r.baseline is not None else []
    if r.champion is not None:
        header += [f"champion ({r.champion_label or 'current'})", "change", f"change {pct}"]
    rows = []
    for name in METRICS:
        if name not in r.metrics:
            continue
        row = [name, "higher" if METRICS[name] else "lower", _num(r.metrics[name])]
        if r.intervals is not None:
            row.append(str(r.intervals.get(name, Interval(math.nan, math.nan))))
        if r.baseline is not None:
            row.append(_num(r.baseline.get(name)))
        if r.champion is not None:
            change = (r.change_intervals or {}).get(name)
            row += [
                _num(r.champion.get(name)),
                change_in_words(r.metrics[name], r.champion.get(name), name, change),
                str(change) if change is not None else "—",
            ]
        rows.append(row)
    return header, rows


def _gate_rows(gates: Sequence[GateResult]) -> list[list[str]]:
    return [
        ["PASS" if g.passed else "FAIL", g.gate, _num(g.value), _num(g.threshold), g.message]
        for g in sorted(gates, key=lambda g: g.passed)
    ]


def _behavioural_rows(results: Sequence[BehaviouralResult]) -> list[list[str]]:
    return [["PASS" if r.passed else "FAIL", r.kind, r.name, r.detail] for r in results]


def _sections(r: Report) -> list[tuple[str, list[str], list[list[str]]]]:
    header, rows = _metric_table(r)
    return [
        ("Metrics (test split)", header, rows),
        ("Gates", ["result", "gate", "value", "threshold", "detail"], _gate_rows(r.gates)),
        ("Behavioural tests", ["result", "kind", "case", "detail"], _behavioural_rows(r.behavioural)),
    ]


def _interval_note(r: Report) -> str:
    if r.intervals is None:
        return ""
    return (
        f"Intervals: {r.confidence:.0%} bootstrap percentile intervals over {r.n_resamples} resamples of "
        "the test rows; the change vs the champion is resampled on the same rows (paired). "
        "A change whose interval includes 0 is within the noise of this split. The majority baseline "
        "always answers the most frequent test class with the class shares as probabilities."
    )


def _verdict(r: Report) -> str:
    return (
        f"{'PASSED' if r.passed else 'FAILED'}: {sum(g.passed for g in r.gates)}/{len(r.gates)} gates passed."
    )


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(row) for row in rows)])


def render_markdown(r: Report) -> str:
    parts = [f"# {r.title}", "", f"**{_verdict(r)}**", ""]
    parts += [f"- {k}: {v}" for k, v in r.facts.items()] + [""]
    if r.findings:
        parts += ["## Headlines", ""] + [f"- {line}" for line in r.findings] + [""]
    for heading, header, rows in _sections(r):
        parts += [f"## {heading}", "", _md_table(header, rows) if rows else "_none_", ""]
        if heading.startswith("Metrics") and (note := _interval_note(r)):
            parts += [f"_{note}_", ""]
    if r.explanation is not None:
        parts += r.explanation.markdown()
    if r.plots:
        # Plots live in plots/ beside the report, here and in the MLflow run's evaluation/ folder.
        parts += ["## Plots", ""] + [f"![{p.stem}]({p.parent.name}/{p.name})" for p in r.plots] + [""]
    return "\n".join(parts)


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:1.5em auto;padding:0 1.5em;max-width:1500px}"
    "table{border-collapse:collapse;margin:0.5em 0 1em}td,th{border:1px solid #ccc;padding:4px 8px;"
    "text-align:left;font-size:14px}th{background:#f3f3f3}td.num{font-variant-numeric:tabular-nums}"
    ".PASS{color:#137333;font-weight:bold}.FAIL{color:#b3261e;font-weight:bold}"
    ".better{color:#137333}.worse{color:#b3261e}.facts{columns:2;font-size:14px}.note{color:#555;font-size:13px}"
    ".headlines li{margin:0.3em 0}"
    # two plots per row across the full width; one per row on narrow screens
    ".plots{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:1em}"
    "@media (max-width:800px){.plots{grid-template-columns:1fr}}"
    ".plots figure{margin:0}.plots figure.wide{grid-column:1/-1}"
    ".plots img{width:100%;height:auto;border:1px solid #eee}.plots .wide img{max-width:1200px}"
    "figcaption{font-size:13px;color:#555}"
)


_WIDE_PX = 1000  # a plot wider than this (a confusion matrix of many classes) gets a row of its own


def _png_width(data: bytes) -> int:
    """Pixel width from the PNG header (IHDR), 0 if not a PNG."""
    return int.from_bytes(data[16:20], "big") if data[:8] == b"\x89PNG\r\n\x1a\n" else 0


def _cell(text: str) -> str:
    esc = html.escape
    if text in ("PASS", "FAIL"):
        return f'<td class="{text}">{esc(text)}</td>'
    for word in ("better", "worse"):
        if f" {word}" in text and text[:1] in "+-":
            return f'<td class="num {word}">{esc(text)}</td>'
    return f"<td>{esc(text)}</td>"


def render_html(r: Report) -> str:
    esc = html.escape
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(r.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head><body>",
        f"<h1>{esc(r.title)}</h1>",
        f'<p class="{"PASS" if r.passed else "FAIL"}">{esc(_verdict(r))}</p>',
        '<ul class="facts">' + "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in r.facts.items()) + "</ul>",
    ]
    if r.findings:
        out.append("<h2>Headlines</h2>")
        out.append('<ul class="headlines">' + "".join(f"<li>{esc(f)}</li>" for f in r.findings) + "</ul>")
    for heading, header, rows in _sections(r):
        out.append(f"<h2>{esc(heading)}</h2>")
        if not rows:
            out.append("<p><em>none</em></p>")
            continue
        out.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
        out += ["<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows]
        out.append("</table>")
        if heading.startswith("Metrics") and (note := _interval_note(r)):
            out.append(f'<p class="note">{esc(note)}</p>')
    if r.explanation is not None:
        out += r.explanation.html()
    if r.plots:
        out.append('<h2>Plots</h2><div class="plots">')
        for p in r.plots:
            raw = p.read_bytes()
            data = base64.b64encode(raw).decode("ascii")
            caption = esc(p.stem.replace("_", " "))
            wide = ' class="wide"' if _png_width(raw) > _WIDE_PX else ""
            out.append(
                f'<figure{wide}><img alt="{caption}" src="data:image/png;base64,{data}">'
                f"<figcaption>{caption}</figcaption></figure>"
            )
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_reports(out_dir: Path, report: Report) -> tuple[Path, Path]:
    """Write report.md and report.html into out_dir."""
    md = out_dir / "report.md"
    page = out_dir / "report.html"
    md.write_text(render_markdown(report), encoding="utf-8")
    page.write_text(render_html(report), encoding="utf-8")
    return md, page
