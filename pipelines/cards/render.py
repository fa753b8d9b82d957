"""A model card as markdown (MLflow, PR comments, terminals) and as one self-contained HTML page.

The layout follows the evaluation report (pipelines/evaluate/report.py): a verdict line, a facts
list, then one table per section, PASS/FAIL in colour. Both renderings come from the same section
list, so they never say different things.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from pipelines.cards.card import ModelCard

__all__ = ["render_html", "render_markdown"]


@dataclass
class _Section:
    heading: str
    facts: dict[str, str] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""
    sub: list[_Section] = field(default_factory=list)


def _listed(items: list[str], empty: str) -> list[str]:
    return items or [empty]


def _sections(card: ModelCard) -> list[_Section]:
    not_stated = "_not stated in model.yaml (card)_"
    metrics = _Section(
        "Metrics (test split)",
        header=["metric", "better", "value", "95% CI (bootstrap)", "majority baseline"],
        rows=[[m.metric, m.better, f"{m.value:.4f}", m.interval, m.baseline] for m in card.metrics],
        note="Intervals: bootstrap percentile intervals over the test rows, from the evaluation report.",
    )
    explanation_tables = [
        _Section(
            f"Class {e.label}" if e.label != "all" else "All classes",
            header=["feature", "importance"],
            rows=[[name, f"{value:.4g}"] for name, value in e.importances],
        )
        for e in card.explanations
    ]
    slice_tables = [_Section(t.title, header=t.header, rows=t.rows) for t in card.slices]
    deploys = _Section(
        "Deploy history",
        header=["environment", "alias now", "verdict", "finished", "reason", "previous", "report"],
        rows=[
            [
                d.env,
                "yes" if d.holds_alias else "no",
                d.verdict or "—",
                d.finished or "—",
                d.reason or "—",
                f"v{d.previous}" if d.previous else "—",
                d.report or "—",
            ]
            for d in card.deploys
        ],
        note="" if card.deploys else "not deployed to any environment yet",
    )
    return [
        _Section("Intended use", items=[card.intended_use or not_stated]),
        _Section("Out of scope", items=_listed(card.out_of_scope, not_stated)),
        _Section("Limitations", items=_listed(card.limitations, not_stated)),
        _Section("Ethical considerations", items=_listed(card.ethical_considerations, not_stated)),
        _Section("Training", header=["param", "value"], rows=[[k, v] for k, v in card.training.items()]),
        _Section("Data", facts=card.data),
        _Section("Evaluation", facts=card.evaluation),
        metrics,
        _Section(
            "Gates",
            header=["result", "gate", "detail"],
            rows=[["PASS" if g.passed else "FAIL", g.gate, g.detail] for g in card.gates],
        ),
        _Section(
            "Behavioural tests",
            header=["result", "kind", "case", "detail"],
            rows=[["PASS" if b.passed else "FAIL", b.kind, b.case, b.detail] for b in card.behavioural],
            note=card.behavioural_note,
        ),
        _Section("Explanations", note=card.explanations_note, sub=explanation_tables),
        _Section("Fairness and slices", items=[card.fairness_note], note=card.slices_note, sub=slice_tables),
        deploys,
        _Section("Lineage", facts=card.lineage),
    ]


def _verdict(card: ModelCard) -> str:
    if card.complete:
        return "COMPLETE: every required fact was found."
    return f"INCOMPLETE: {len(card.gaps)} required fact(s) missing (see Gaps)."


def _header_facts(card: ModelCard) -> dict[str, str]:
    return {"model": card.model, "version": card.version, **card.facts, "card generated": card.generated}


# ---- markdown ----------------------------------------------------------------------------------
def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows)]


def _md_section(s: _Section, level: int) -> list[str]:
    out = [f"{'#' * level} {s.heading}", ""]
    out += [f"- {k}: {v}" for k, v in s.facts.items()]
    out += [f"- {item}" for item in s.items]
    if s.facts or s.items:
        out.append("")
    if s.header:
        out += [*_md_table(s.header, s.rows), ""] if s.rows else ([] if s.note else ["_none_", ""])
    if s.note:
        out += [f"_{s.note}_", ""]
    for sub in s.sub:
        out += _md_section(sub, level + 1)
    return out


def render_markdown(card: ModelCard) -> str:
    out = [f"# {card.title}", "", f"**{_verdict(card)}**", ""]
    out += [f"- {k}: {v}" for k, v in _header_facts(card).items()] + [""]
    if card.gaps:
        out += ["## Gaps", ""] + [f"- {g}" for g in card.gaps] + [""]
    for section in _sections(card):
        out += _md_section(section, 2)
    return "\n".join(out).rstrip() + "\n"


# ---- HTML --------------------------------------------------------------------------------------
_CSS = (
    "body{font-family:system-ui,sans-serif;margin:1.5em auto;padding:0 1.5em;max-width:1100px;"
    "line-height:1.4}"
    "table{border-collapse:collapse;margin:0.5em 0 1em}td,th{border:1px solid #ccc;padding:4px 8px;"
    "text-align:left;font-size:14px;vertical-align:top}th{background:#f3f3f3}"
    ".PASS{color:#137333;font-weight:bold}.FAIL{color:#b3261e;font-weight:bold}"
    ".facts{columns:2;font-size:14px}.note{color:#555;font-size:13px}.gaps li{color:#b3261e}"
    "h2{border-bottom:1px solid #ddd;padding-bottom:0.2em;margin-top:1.4em}"
    "@media (max-width:800px){.facts{columns:1}}"
)


def _cell(text: str) -> str:
    if text in ("PASS", "FAIL"):
        return f'<td class="{text}">{text}</td>'
    return f"<td>{html.escape(text)}</td>"


def _html_section(s: _Section, level: int) -> list[str]:
    esc = html.escape
    out = [f"<h{level}>{esc(s.heading)}</h{level}>"]
    if s.facts:
        out.append("<ul>" + "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in s.facts.items()) + "</ul>")
    if s.items:
        out.append("<ul>" + "".join(f"<li>{esc(i.strip('_'))}</li>" for i in s.items) + "</ul>")
    if s.header:
        if s.rows:
            out.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in s.header) + "</tr>")
            out += ["<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in s.rows]
            out.append("</table>")
        elif not s.note:
            out.append("<p><em>none</em></p>")
    if s.note:
        out.append(f'<p class="note">{esc(s.note)}</p>')
    for sub in s.sub:
        out += _html_section(sub, level + 1)
    return out


def render_html(card: ModelCard) -> str:
    esc = html.escape
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(card.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head><body>",
        f"<h1>{esc(card.title)}</h1>",
        f'<p class="{"PASS" if card.complete else "FAIL"}">{esc(_verdict(card))}</p>',
        '<ul class="facts">'
        + "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in _header_facts(card).items())
        + "</ul>",
    ]
    if card.gaps:
        out.append(
            '<h2>Gaps</h2><ul class="gaps">' + "".join(f"<li>{esc(str(g))}</li>" for g in card.gaps) + "</ul>"
        )
    for section in _sections(card):
        out += _html_section(section, 2)
    out.append("</body></html>")
    return "\n".join(out) + "\n"
