"""The evaluation report's explanation section: explain the candidate, draw, write explanations.json.

    section = explain_evaluation(config, dataset, predictor, test_df, out_dir, background=train_df)
    section.markdown(), section.html()   # report.md / report.html parts; section.plots; section.json_path

Tabular: SHAP values of up to `evaluation.explain.max_rows` test rows against a seeded sample of the
training split (the test split itself when no training split is given): a global importance bar
chart and a beeswarm per class. Text: token attributions of the behavioural cases' `input.text`.
A model that cannot be explained, or `explain.enabled: false`, gives a note and a skipped document,
never a failed evaluation.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.explain import document as doc
from pipelines.explain.errors import Unexplainable

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.artifacts import Predictor
    from pipelines.config import DatasetConfig, TabularClassifierConfig, TextClassifierConfig

__all__ = ["ExplanationSection", "explain_evaluation"]

_TABLE_ROWS = 10  # features (tabular) or tokens (text) listed in the report's table
_EVAL_SAMPLES = 256  # coalitions per tabular row: the report averages over many rows, fewer suffice


@dataclass
class ExplanationSection:
    document: dict[str, Any]
    json_path: Path
    plots: list[Path] = field(default_factory=list)

    @property
    def note(self) -> str | None:
        note = self.document.get("note")
        return str(note) if note else None

    def _about(self) -> str:
        d = self.document
        background = d.get("background")
        against = (
            f"against {background['rows']} rows of the {background['source']} (seed {background['seed']})"
            if background
            else "masking tokens with the tokenizer's mask token"
        )
        return (
            f"{d['method']}; {_explained(d)} explained {against}, "
            f"{d['max_evals']} model evaluations per row, {d['seconds']:.1f} s. Values are changes of "
            "class probabilities; a row's values add up to its probability minus the expected value "
            f"({_expected(d)})."
        )

    def _table(self) -> tuple[list[str], list[list[str]]]:
        d = self.document
        labels = list(d["labels"])
        if d["kind"] == "tabular":
            shown = [labels[1]] if len(labels) == 2 else labels
            header = ["rank", "feature", *(f"mean abs SHAP, P({c})" for c in shown)]
            first = d["global_importance"][shown[0]][:_TABLE_ROWS]
            lookup = {c: {e["feature"]: e["mean_abs_shap"] for e in d["global_importance"][c]} for c in shown}
            rows = [
                [str(n + 1), e["feature"], *(f"{lookup[c][e['feature']]:.4f}" for c in shown)]
                for n, e in enumerate(first)
            ]
            return header, rows
        header = ["case", "predicted", "raises it most", "lowers it most"]
        rows = []
        for case in d["cases"]:
            ranked = sorted(zip(case["attributions"], case["tokens"], strict=True), reverse=True)
            up = ", ".join(f"{t.strip()} {v:+.2f}" for v, t in ranked[:3] if v > 0 and t.strip()) or "—"
            down = ", ".join(f"{t.strip()} {v:+.2f}" for v, t in reversed(ranked[-3:]) if v < 0 and t.strip())
            rows.append([case["name"], f"{case['predicted']} ({case['probability']:.2f})", up, down or "—"])
        return header, rows

    def markdown(self) -> list[str]:
        parts = ["## Explanations (SHAP)", ""]
        if self.note:
            return [*parts, f"_Not explained: {self.note}_", ""]
        parts += [f"_{self._about()}_", ""]
        header, rows = self._table()
        parts += [_md_line(header), _md_line(["---"] * len(header)), *(_md_line(r) for r in rows), ""]
        parts += [f"![{p.stem}]({p.parent.name}/{p.name})" for p in self.plots] + [""]
        return parts

    def html(self) -> list[str]:
        esc = html.escape
        out = ["<h2>Explanations (SHAP)</h2>"]
        if self.note:
            return [*out, f'<p class="note">Not explained: {esc(self.note)}</p>']
        out.append(f'<p class="note">{esc(self._about())}</p>')
        if self.document["kind"] == "text":
            out.append(
                "<table><tr><th>case</th><th>predicted</th><th>tokens (red raises, blue lowers)</th></tr>"
            )
            for case in self.document["cases"]:
                out.append(
                    f"<tr><td>{esc(case['name'])}</td><td>{esc(case['predicted'])} "
                    f"({case['probability']:.2f})</td><td>{_highlight(case)}</td></tr>"
                )
            out.append("</table>")
        header, rows = self._table()
        if self.document["kind"] == "tabular":
            out.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows]
            out.append("</table>")
        out.append('<div class="plots">')
        for p in self.plots:
            data = base64.b64encode(p.read_bytes()).decode("ascii")
            caption = esc(p.stem.replace("_", " "))
            out.append(
                f'<figure class="wide"><img alt="{caption}" src="data:image/png;base64,{data}">'
                f"<figcaption>{caption}</figcaption></figure>"
            )
        out.append("</div>")
        return out


def _explained(d: dict[str, Any]) -> str:
    rows, source = d["explained"]["rows"], d["explained"]["source"]
    return f"{rows} rows of the {source}" if d["kind"] == "tabular" else f"{rows} {source}"


def _md_line(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _expected(d: dict[str, Any]) -> str:
    expected = d.get("expected_value") or {}
    shown = list(expected.items())[:4]
    more = ", ..." if len(expected) > 4 else ""
    return ", ".join(f"P({c}) {v:.3f}" for c, v in shown) + more


def _highlight(case: dict[str, Any]) -> str:
    """Tokens as spans shaded by attribution toward the predicted class, scaled per case."""
    values = case["attributions"]
    scale = max((abs(v) for v in values), default=0.0) or 1.0
    spans = []
    for token, value in zip(case["tokens"], values, strict=True):
        alpha = min(abs(value) / scale, 1.0) * 0.8
        colour = f"rgba(179,38,30,{alpha:.2f})" if value > 0 else f"rgba(31,119,180,{alpha:.2f})"
        style = f"background:{colour};padding:1px 0"
        spans.append(f'<span style="{style}" title="{value:+.4f}">{html.escape(token)}</span>')
    return "".join(spans)


def _behavioural_texts(config: TextClassifierConfig | TabularClassifierConfig) -> tuple[list[str], list[str]]:
    names, texts = [], []
    for case in config.evaluation.behavioural.cases:
        text = case.input.get("text")
        if isinstance(text, str) and text.strip():
            names.append(case.name)
            texts.append(text)
    return names, texts


def explain_evaluation(
    config: TextClassifierConfig | TabularClassifierConfig,
    dataset: DatasetConfig,
    predictor: Predictor,
    test_df: pd.DataFrame,
    out_dir: Path,
    *,
    background: pd.DataFrame | None = None,
) -> ExplanationSection:
    """Explain the candidate into out_dir (explanations.json, plots/shap_*.png); never raises
    Unexplainable: the section carries the note instead."""
    settings = config.evaluation.explain
    plots_dir = out_dir / "plots"
    for stale in plots_dir.glob("shap_*.png"):  # a previous evaluation's explanation plots
        stale.unlink()
    if not settings.enabled:
        note = "disabled in model.yaml (evaluation.explain.enabled: false)"
        document = doc.skipped(config.name, predictor.kind, predictor.labels, note)
        return ExplanationSection(document, doc.write(document, out_dir))
    try:
        document, plots = _explain(config, dataset, predictor, test_df, plots_dir, background)
    except Unexplainable as exc:
        document = doc.skipped(config.name, predictor.kind, predictor.labels, str(exc))
        return ExplanationSection(document, doc.write(document, out_dir))
    document["plots"] = [f"{p.parent.name}/{p.name}" for p in plots]
    return ExplanationSection(document, doc.write(document, out_dir), plots)


def _explain(
    config: TextClassifierConfig | TabularClassifierConfig,
    dataset: DatasetConfig,
    predictor: Predictor,
    test_df: pd.DataFrame,
    plots_dir: Path,
    background: pd.DataFrame | None,
) -> tuple[dict[str, Any], list[Path]]:
    from pipelines.explain.plots import beeswarm_plot, importance_plot, text_plot
    from pipelines.explain.tabular import TabularExplainer, background_matrix
    from pipelines.explain.text import TextExplainer

    settings = config.evaluation.explain
    if predictor.kind == "tabular":
        names = predictor.feature_names
        if not names:
            raise Unexplainable(f"{predictor.path}: the tabular model's manifest has no feature names")
        source = "training split"
        if background is None or any(n not in background.columns for n in names):
            source = "test split (no training split with the features given)"
            background = None
        bg = background_matrix(
            background if background is not None else test_df, names, settings.background_rows, settings.seed
        )
        rows = test_df
        if len(rows) > settings.max_rows:
            rows = rows.sample(n=settings.max_rows, random_state=settings.seed).sort_index()
        explainer = TabularExplainer(
            predictor, bg, source=source, seed=settings.seed, max_evals=settings.max_evals or _EVAL_SAMPLES
        )
        result = explainer.explain(predictor.feature_matrix(rows))
        plots = [importance_plot(result, plots_dir / "shap_importance.png")]
        classes = [1] if len(result.labels) == 2 else range(len(result.labels))
        plots += [
            beeswarm_plot(result, k, plots_dir / f"shap_beeswarm_{_slug(result.labels[k])}.png")
            for k in classes
        ]
        explained = f"test split ({'a seeded sample' if len(rows) < len(test_df) else 'every row'})"
        return doc.tabular_document(
            config.name, result, explained_source=explained, seed=settings.seed
        ), plots
    if predictor.kind == "text":
        names, texts = _behavioural_texts(config)
        if not texts:
            raise Unexplainable("no behavioural case with input.text in model.yaml to explain")
        text_result = TextExplainer(predictor, max_evals=settings.max_evals).explain(texts)
        plots = [text_plot(text_result, names, plots_dir / "shap_text_tokens.png")]
        return doc.text_document(config.name, text_result, names), plots
    raise Unexplainable(f"model kind {predictor.kind!r} has no explainer (explainable: tabular, text)")


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in label.lower())
