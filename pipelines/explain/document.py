"""`explanations.json`: what the evaluation report's SHAP section shows, as data.

Written to the evaluation output folder and logged by `aip evaluate` to the evaluation run as
`evaluation/explanations.json` (the model card reads it from there). Shape, version 1:

    {
      "schema_version": 1,
      "model": "tumor-classifier",
      "kind": "tabular" | "text",
      "status": "explained" | "skipped",
      "note": null | "why it was skipped (disabled in model.yaml, a model that cannot be explained)",
      "method": "shap.KernelExplainer (sampled background), output: class probabilities",
      "output": "probability",            # values are in probability points of each class
      "labels": ["benign", "malignant"],
      "explained": {"source": "test split", "rows": 100},   # text: behavioural cases, "rows": cases
      "background": {"source": "training split", "rows": 32, "seed": 0},   # text: null (mask token)
      "max_evals": 256,                   # model evaluations (coalitions) per explained row
      "seconds": 2.1,                     # wall time of the explanations
      "expected_value": {"benign": 0.63, "malignant": 0.37},   # mean over explained rows
      "global_importance": {              # per class, most important first
        "malignant": [{"feature": "worst concave points", "mean_abs_shap": 0.081}, ...],
        ...                               # text: {"token": "basketball", "mean_abs_shap": ..., "count": 2}
      },
      "cases": [                          # text only: one per behavioural case with input.text
        {"name": "...", "text": "...", "predicted": "sports", "probability": 0.93,
         "tokens": ["who ", "is ", ...], "attributions": [0.01, ...]}   # toward `predicted`
      ],
      "plots": ["plots/shap_importance.png", ...]   # relative to the evaluation folder
    }

A skipped document has the same keys with `status: "skipped"`, the note, and empty results.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.explain.tabular import TabularExplanation
from pipelines.explain.text import TextExplanation

__all__ = ["EXPLANATIONS_FILE", "SCHEMA_VERSION", "skipped", "tabular_document", "text_document", "write"]

EXPLANATIONS_FILE = "explanations.json"
SCHEMA_VERSION = 1
TOP_TOKENS = 10  # tokens listed per class in a text model's global importance


def _base(model: str, kind: str, labels: list[str]) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "model": model,
        "kind": kind,
        "status": "explained",
        "note": None,
        "method": None,
        "output": "probability",
        "labels": labels,
        "explained": {"source": None, "rows": 0},
        "background": None,
        "max_evals": None,
        "seconds": 0.0,
        "expected_value": {},
        "global_importance": {},
        "cases": [],
        "plots": [],
    }


def skipped(model: str, kind: str, labels: list[str], note: str) -> dict[str, Any]:
    return {**_base(model, kind, labels), "status": "skipped", "note": note}


def tabular_document(
    model: str, result: TabularExplanation, *, explained_source: str, seed: int
) -> dict[str, Any]:
    importance = result.mean_abs()
    ranking = {
        label: [
            {"feature": result.feature_names[j], "mean_abs_shap": round(float(importance[j, k]), 6)}
            for j in np.argsort(-importance[:, k], kind="stable")
        ]
        for k, label in enumerate(result.labels)
    }
    return {
        **_base(model, "tabular", result.labels),
        "method": result.method,
        "explained": {"source": explained_source, "rows": len(result.data)},
        "background": {"source": result.background_source, "rows": result.background_rows, "seed": seed},
        "max_evals": result.max_evals,
        "seconds": round(result.seconds, 3),
        "expected_value": {c: round(float(result.expected[k]), 6) for k, c in enumerate(result.labels)},
        "global_importance": ranking,
    }


def token_key(token: str) -> str:
    """A token as counted across texts: trimmed and lower-cased (`Python?` and `python ` differ by
    punctuation only when the tokenizer splits it off)."""
    return token.strip().lower()


def text_document(model: str, result: TextExplanation, names: list[str]) -> dict[str, Any]:
    sums: dict[str, dict[str, list[float]]] = {label: defaultdict(list) for label in result.labels}
    cases = []
    for i, name in enumerate(names):
        predicted = int(result.proba[i].argmax())
        for t, token in enumerate(result.tokens[i]):
            if not (key := token_key(token)):
                continue
            for k, label in enumerate(result.labels):
                sums[label][key].append(abs(float(result.values[i][t, k])))
        cases.append(
            {
                "name": name,
                "text": result.texts[i],
                "predicted": result.labels[predicted],
                "probability": round(float(result.proba[i, predicted]), 6),
                "tokens": result.tokens[i],
                "attributions": [round(float(v), 6) for v in result.values[i][:, predicted]],
            }
        )
    ranking = {}
    for label in result.labels:
        scored = sorted(((float(np.mean(v)), len(v), tok) for tok, v in sums[label].items()), reverse=True)
        ranking[label] = [
            {"token": tok, "mean_abs_shap": round(score, 6), "count": n}
            for score, n, tok in scored[:TOP_TOKENS]
        ]
    expected = result.expected.mean(axis=0) if len(result.expected) else np.zeros(len(result.labels))
    return {
        **_base(model, "text", result.labels),
        "method": result.method,
        "explained": {
            "source": "behavioural cases (model.yaml evaluation.behavioural, input.text)",
            "rows": len(names),
        },
        "max_evals": result.max_evals,
        "seconds": round(result.seconds, 3),
        "expected_value": {c: round(float(expected[k]), 6) for k, c in enumerate(result.labels)},
        "global_importance": ranking,
        "cases": cases,
    }


def write(document: dict[str, Any], out_dir: Path) -> Path:
    path = out_dir / EXPLANATIONS_FILE
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
