"""The drift report: report.json (what CI and the drift workflow read) and report.html with plots."""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

from pipelines.monitoring.drift import DriftReport

_TOP_FEATURES = 6  # feature histograms in the HTML report, highest PSI first


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _plots(report: DriftReport) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    images: list[tuple[str, str]] = []
    reference, window = report.plots.get("reference"), report.plots.get("window")
    if report.features and reference is not None and window is not None:
        fig, ax = plt.subplots(figsize=(9, max(3, 0.25 * len(report.features))))
        names = [r.feature for r in report.features]
        psi = [r.stats["psi"] for r in report.features]
        ax.barh(names, psi, color=["#d62728" if r.drifted else "#1f77b4" for r in report.features])
        ax.axvline(0.1, linestyle="--", color="grey", label="PSI 0.1")
        ax.set_xlabel("PSI (red: the feature's test fired)")
        ax.invert_yaxis()
        ax.legend()
        images.append(("PSI per feature", _png(fig)))
        top = sorted(report.features, key=lambda r: -r.stats["psi"])[:_TOP_FEATURES]
        fig, axes = plt.subplots(2, 3, figsize=(12, 7))
        for ax, result in zip(axes.flat, top, strict=False):
            if result.kind == "numerical":
                ref = reference[result.feature].astype(float)
                cur = window[result.feature].astype(float)
                bins = np.histogram_bin_edges(np.r_[ref, cur], bins=20)
                ax.hist(ref, bins=bins, density=True, alpha=0.5, label="reference")
                ax.hist(cur, bins=bins, density=True, alpha=0.5, label="window")
            ax.set_title(f"{result.feature}\n{result.method}={result.score:.3g}", fontsize=9)
            ax.legend(fontsize=7)
        fig.tight_layout()
        images.append(("Highest-PSI features: reference against window", _png(fig)))
    if "prediction" in report.plots:
        ref_pred, cur_pred = report.plots["prediction"]
        classes = sorted(set(ref_pred) | set(cur_pred))
        ref_c, cur_c = Counter(ref_pred), Counter(cur_pred)
        x = np.arange(len(classes))
        fig, ax = plt.subplots(figsize=(max(5, 0.5 * len(classes)), 3.5))
        ax.bar(x - 0.2, [ref_c[c] / len(ref_pred) for c in classes], 0.4, label="reference")
        ax.bar(x + 0.2, [cur_c[c] / len(cur_pred) for c in classes], 0.4, label="window")
        ax.set_xticks(x, classes, rotation=45, ha="right")
        ax.set_ylabel("share")
        ax.legend()
        images.append(("Predicted-class distribution", _png(fig)))
    if report.text and "embeddings" in report.text:
        ref_emb, cur_emb = report.text["embeddings"]
        both = np.vstack([ref_emb, cur_emb])
        centred = both - both.mean(0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        xy = centred @ vt[:2].T
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.scatter(xy[: len(ref_emb), 0], xy[: len(ref_emb), 1], s=4, alpha=0.4, label="reference")
        ax.scatter(xy[len(ref_emb) :, 0], xy[len(ref_emb) :, 1], s=6, alpha=0.6, label="window")
        ax.set_title("MiniLM embeddings, first two principal components")
        ax.legend()
        images.append(("Text embeddings", _png(fig)))
    return images


def _table(rows: list[list[str]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: DriftReport) -> str:
    data = report.as_dict()
    colour = {"drift": "#d62728", "no_drift": "#2ca02c", "insufficient_data": "#ff7f0e"}[report.status]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Drift: {html.escape(report.model)} @{html.escape(report.env)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}.drift{color:#d62728;font-weight:bold}"
        "</style></head><body>",
        f"<h1>Drift report: {html.escape(report.model)} @{html.escape(report.env)}</h1>",
        f"<p style='font-size:1.3em;color:{colour}'><b>{report.status.replace('_', ' ')}</b> "
        f"(exit code {report.exit_code})</p>",
        f"<p>Window {html.escape(report.since)} .. {html.escape(report.until)}: {report.samples} samples "
        f"(minimum {report.min_samples}), versions {', '.join(report.versions) or '-'}; "
        "reference: the training "
        f"split, {report.reference_rows} rows.</p>",
    ]
    if report.reasons:
        parts.append(
            "<h2>Why</h2><ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in report.reasons) + "</ul>"
        )
    if report.notes:
        parts.append(
            "<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in report.notes) + "</ul>"
        )
    if report.dataset_drift:
        d = report.dataset_drift
        parts.append(
            f"<h2>Features</h2><p>{d['features_drifted']} of {d['features_tested']} features drifted "
            f"({d['share']:.0%}; dataset drift at {d['threshold']:.0%}).</p>"
        )
        rows = [
            [
                html.escape(r.feature),
                r.kind,
                r.method,
                f"{r.score:.4g}",
                f"{r.threshold:g}",
                "<span class='drift'>drift</span>" if r.drifted else "ok",
                ", ".join(f"{k}={v:.3g}" for k, v in r.stats.items()),
            ]
            for r in report.features
        ]
        parts.append(
            _table(rows, ["feature", "kind", "test", "score", "threshold", "result", "all statistics"])
        )
    if data.get("text"):
        t = data["text"]
        parts.append(
            "<h2>Text</h2>"
            + _table(
                [
                    [html.escape(k), html.escape(f"{v:.4g}" if isinstance(v, float) else str(v))]
                    for k, v in t.items()
                ],
                ["statistic", "value"],
            )
        )
    if data.get("prediction"):
        p = data["prediction"]
        parts.append(
            f"<h2>Predictions</h2><p>{p['method']} = {p['score']:.4g} (threshold {p['threshold']:g}): "
            f"{'<span class=drift>drift</span>' if p['drifted'] else 'ok'}; "
            f"reference: {html.escape(p['reference'])}.</p>"
        )
    if data.get("quality"):
        parts.append(
            "<h2>Live quality</h2><pre>" + html.escape(json.dumps(data["quality"], indent=2)) + "</pre>"
        )
    for title, image in _plots(report):
        parts.append(
            f"<h2>{html.escape(title)}</h2>"
            f"<img alt='{html.escape(title)}' src='data:image/png;base64,{image}'>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def write(report: DriftReport, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "report.json", folder / "report.html"
    json_path.write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n")
    html_path.write_text(render_html(report))
    return json_path, html_path
