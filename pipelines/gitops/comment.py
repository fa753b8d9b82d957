"""`aip ci comment`: the PR comment with each model's metrics and the difference from the champion.

Reads summaries in the shape of `aip run --summary-json` (or `aip ci smoke --summary-json`) from a
folder, and the evaluation reports in `.aip/reports/<env>/<model>/` for the champion column when a
summary lacks it. Writes the markdown to the job summary and, with --post, creates or updates one
comment on the pull request (found again by a hidden marker). A pull request from a fork gets a
read-only token: the table stays in the job summary and a notice says so.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from pipelines.github import GitHub
from pipelines.gitops.actions import annotate, write_summary
from pipelines.http import HttpError, Unreachable

__all__ = ["MARKER", "load_rows", "post", "render"]

MARKER = "<!-- aip:pr-metrics -->"  # finds our comment again to update it in place
SHOWN = ("accuracy", "macro_f1", "roc_auc", "log_loss", "ece")  # rows of each model's table


def _report_champion(report_md: Path) -> tuple[str | None, dict[str, float]]:
    """The champion column of report.md's metrics table (written by pipelines/evaluate/report.py)."""
    if not report_md.is_file():
        return None, {}
    label: str | None = None
    values: dict[str, float] = {}
    header: list[str] | None = None
    column = 0
    in_metrics = False
    for line in report_md.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_metrics = line.startswith("## Metrics")
            continue
        if not (in_metrics and line.startswith("|")):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
            found = next((i for i, c in enumerate(cells) if c.startswith("champion")), None)
            if found is None:
                return None, {}
            column = found
            inner = re.fullmatch(r"champion \((.*)\)", header[column])
            label = inner.group(1) if inner else "current"
            continue
        if set(cells[0]) <= {"-"}:
            continue
        try:
            values[cells[0]] = float(cells[column])
        except (ValueError, IndexError):
            continue
    return label, values


def load_rows(folder: Path, reports: Path) -> list[dict[str, Any]]:
    """One row per model from every *.json summary in `folder`, with champion metrics filled in."""
    rows: list[dict[str, Any]] = []
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        for model in data.get("models", []):
            row = dict(model)
            row["env"] = data.get("env", "local")
            if not row.get("champion_metrics"):
                label, values = _report_champion(reports / row["env"] / row["model"] / "report.md")
                row["champion"], row["champion_metrics"] = label, values
            rows.append(row)
    return sorted(rows, key=lambda r: r["model"])


def _fmt(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def _difference(metric: str, candidate: float | None, champion: float | None) -> str:
    from pipelines.config import METRICS

    if candidate is None or champion is None:
        return "—"
    diff = candidate - champion
    higher_is_better = METRICS.get(metric, True)
    better = diff > 0 if higher_is_better else diff < 0
    mark = "=" if diff == 0 else ("▲ better" if better else "▼ worse")
    return f"{diff:+.4f} {mark}"


def render(rows: list[dict[str, Any]], title: str = "Smoke train + evaluate (CPU, small sample)") -> str:
    out = [MARKER, f"## {title}", ""]
    if not rows:
        return "\n".join([*out, "No model is affected by this change: nothing was trained.", ""])
    out += [
        "| model | status | fingerprint | gates | train s | evaluate s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        seconds = r.get("seconds", {})
        out.append(
            f"| {r['model']} | {r.get('status', '?')} | `{r.get('fingerprint') or '-'}` "
            f"| {r.get('gates') or '-'} "
            f"| {seconds.get('train', 0):.1f} | {seconds.get('evaluate', 0):.1f} |"
        )
    for r in rows:
        metrics, champion = r.get("metrics", {}), r.get("champion_metrics") or {}
        label = r.get("champion")
        out += ["", f"### {r['model']}", ""]
        if r.get("error"):
            out += [f"> **{r.get('status')}**: {r['error'].splitlines()[0]}", ""]
        if label:
            out += [f"| metric | candidate | champion {label} | difference |", "| --- | --- | --- | --- |"]
            for m in SHOWN:
                if m in metrics:
                    out.append(
                        f"| {m} | {_fmt(metrics[m])} | {_fmt(champion.get(m))} "
                        f"| {_difference(m, metrics[m], champion.get(m))} |"
                    )
        else:
            out += ["| metric | candidate |", "| --- | --- |"]
            out += [f"| {m} | {_fmt(metrics[m])} |" for m in SHOWN if m in metrics]
            out += [
                "",
                f"No champion at @{r.get('env', 'local')} to compare with (first version, or no registry).",
            ]
    if any(r.get("smoke") for r in rows):
        out += [
            "",
            "_Smoke models train on a capped sample; their gates are shown, not enforced. The full training "
            "and its gates run when the change reaches an environment branch (deploy.yml)._",
        ]
    return "\n".join(out) + "\n"


def _pull_number() -> int | None:
    event_path = os.environ.get("GITHUB_EVENT_PATH")
    if not event_path or not Path(event_path).is_file():
        return None
    event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    number = (event.get("pull_request") or {}).get("number")
    return int(number) if number else None


def post(markdown: str, marker: str = MARKER) -> str:
    """Create or update our comment (found by `marker`) on this run's PR; says what happened, never raises."""
    token = os.environ.get("GITHUB_TOKEN", "")
    repo = os.environ.get("GITHUB_REPOSITORY", "")
    head_repo = os.environ.get("AIP_HEAD_REPO", repo)
    number = _pull_number()
    if not (token and repo and number):
        annotate("notice", "not a pull request run with GITHUB_TOKEN: the table is in the job summary only")
        return "summary only"
    if head_repo.lower() != repo.lower():
        annotate(
            "notice", f"pull request from the fork {head_repo}: its token cannot comment; see the job summary"
        )
        return "summary only (fork)"
    github = GitHub(repo, token)
    try:
        comments = github.paginate(f"issues/{number}/comments")
        ours = next((c for c in comments if marker in (c.get("body") or "")), None)
        if ours:
            github.patch(f"issues/comments/{ours['id']}", {"body": markdown})
            return f"updated comment {ours['id']}"
        created = github.post(f"issues/{number}/comments", {"body": markdown})
        return f"created comment {created.get('id')}"
    except (HttpError, Unreachable) as exc:
        annotate("warning", f"could not comment on #{number}: {exc}; the table is in the job summary")
        return "summary only (API error)"


def prompt_sections(reports: Path) -> str:
    """Each prompt evaluation the PR's jobs wrote (`aip prompts evaluate`: metrics, the difference
    from the champion prompt, gates, failing cases), under the models' table."""
    files = sorted(reports.glob("*/prompts/*/evaluation.md")) if reports.is_dir() else []
    return "".join("\n" + f.read_text(encoding="utf-8") for f in files)


def comment(folder: Path, reports: Path, *, post_it: bool, out: Path | None) -> str:
    markdown = render(load_rows(folder, reports)) + prompt_sections(reports)
    write_summary(markdown)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(markdown, encoding="utf-8")
    return post(markdown) if post_it else "summary only"


def summarise(folders: list[Path]) -> int:
    """Append each folder's report.md (evaluation) and *.json (deploy) to the job summary; count them."""
    count = 0
    for folder in folders:
        if not folder.is_dir():
            annotate("warning", f"{folder}: no reports (the step that writes them did not run or failed)")
            continue
        for report in sorted(folder.glob("*.md")):
            text = "\n".join(
                line for line in report.read_text(encoding="utf-8").splitlines() if "![" not in line
            )
            write_summary(text)
            count += 1
        for data in sorted(folder.glob("*.json")):
            write_summary(f"#### {data.name}\n\n```json\n{data.read_text(encoding='utf-8')[:20000]}\n```")
            count += 1
    return count
