"""The parts of a model card that need no registry: report tables, explanations, slices, the
`card:` section of model.yaml and its check by `aip validate`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.cards.card import BehaviouralRow, Gap, GateRow, MetricRow, ModelCard
from pipelines.cards.explanations import TOP_FEATURES, parse_explanations
from pipelines.cards.render import render_html, render_markdown
from pipelines.cards.report_tables import markdown_tables
from pipelines.cards.slices import MAX_SLICE_VALUES, _per_value
from pipelines.config import ConfigError
from pipelines.config.load import load_model
from tests.support.repo import edit_yaml

REPORT = """# Evaluation of m

**PASSED: 2/2 gates passed.**

## Metrics (test split)

| metric | better | candidate | 95% CI | majority baseline |
| --- | --- | --- | --- | --- |
| accuracy | higher | 0.9737 | [0.9386, 1.0000] | 0.6228 |
| log_loss | lower | 0.0771 | [0.0300, 0.1400] | 0.6600 |

_Intervals: ..._

## Behavioural tests

| result | kind | case | detail |
| --- | --- | --- | --- |
| PASS | invariance | a \\| b | kept benign |
| FAIL | directional | c | P(malignant) fell |
"""


def test_report_tables_are_read_by_heading_and_column():
    tables = markdown_tables(REPORT)
    assert [r["95% CI"] for r in tables["Metrics (test split)"]] == ["[0.9386, 1.0000]", "[0.0300, 0.1400]"]
    behavioural = tables["Behavioural tests"]
    assert behavioural[0] == {
        "result": "PASS",
        "kind": "invariance",
        "case": "a | b",
        "detail": "kept benign",
    }
    assert behavioural[1]["result"] == "FAIL"


@pytest.mark.parametrize(
    "data",
    [
        {"benign": {"worst radius": 0.2, "mean area": -0.5}, "malignant": {"worst radius": 0.3}},
        {
            "classes": {
                "benign": [
                    {"feature": "worst radius", "importance": 0.2},
                    {"feature": "mean area", "importance": -0.5},
                ],
                "malignant": {"worst radius": 0.3},
            }
        },
    ],
)
def test_explanations_per_class_are_ranked_by_magnitude(data):
    explanations, note = parse_explanations(data)
    assert [e.label for e in explanations] == ["benign", "malignant"]
    assert explanations[0].importances == [("mean area", -0.5), ("worst radius", 0.2)]
    assert "per class" in note


def test_explanations_keep_the_top_features_only():
    explanations, _ = parse_explanations({"global": {f"f{i}": float(i) for i in range(30)}})
    [only] = explanations
    assert only.label == "all" and len(only.importances) == TOP_FEATURES
    assert only.importances[0] == ("f29", 29.0)


def test_explanations_in_an_unknown_shape_are_reported_not_guessed():
    explanations, note = parse_explanations({"shap": "values.npy"})
    assert explanations == [] and "not in a shape the card reads" in note


def test_slice_metrics_are_computed_per_value():
    labels = ["no", "yes"]
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.6, 0.4]])
    table = _per_value(
        "region", ["north", "north", "south", "south"], ["no", "yes", "yes", "no"], proba, labels
    )
    assert table.title == "By region"
    assert [row[:3] for row in table.rows] == [["north", "2", "1.0000"], ["south", "2", "0.5000"]]


def test_a_continuous_slice_column_is_reported_not_binned():
    n = MAX_SLICE_VALUES + 1
    proba = np.tile([0.5, 0.5], (n, 1))
    table = _per_value("age", [str(i) for i in range(n)], ["no"] * n, proba, ["no", "yes"])
    assert table.rows[0][0].startswith(f"{n} distinct values")


def _card(**changes: object) -> ModelCard:
    card = ModelCard("m", "3", facts={"owner": "@org/ml"}, intended_use="demos <b>only</b>", generated="now")
    card.metrics = [MetricRow("accuracy", "higher", 0.97, "[0.9, 1.0]", "0.62")]
    card.gates = [GateRow(True, "accuracy_min", "0.97 >= 0.92")]
    card.behavioural = [BehaviouralRow(False, "directional", "case x", "fell")]
    for key, value in changes.items():
        setattr(card, key, value)
    return card


def test_markdown_and_html_say_the_same_sections_and_escape_text():
    card = _card()
    markdown, page = render_markdown(card), render_html(card)
    for heading in (
        "Intended use",
        "Metrics (test split)",
        "Gates",
        "Behavioural tests",
        "Explanations",
        "Fairness and slices",
        "Deploy history",
        "Lineage",
    ):
        assert f"## {heading}" in markdown and f">{heading}</h2>" in page
    assert "| accuracy | higher | 0.9700 | [0.9, 1.0] | 0.62 |" in markdown
    assert "demos &lt;b&gt;only&lt;/b&gt;" in page and "<b>only" not in page
    assert '<td class="FAIL">FAIL</td>' in page
    assert "COMPLETE" in markdown and "src=" not in page  # self-contained: nothing to fetch


def test_a_card_with_gaps_says_so_first():
    card = _card(gaps=[Gap("models/m/model.yaml", "card.intended_use", "a `card:` section")])
    markdown = render_markdown(card)
    assert markdown.splitlines()[2] == "**INCOMPLETE: 1 required fact(s) missing (see Gaps).**"
    assert "- models/m/model.yaml: card.intended_use: a `card:` section" in markdown


MODEL = """name: tiny
description: d
owner: ml
task: tabular-classification
dataset: breast-cancer
"""


def _write(root: Path, text: str) -> Path:
    path = root / "models" / "tiny" / "model.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_card_section_without_intended_use_names_file_line_and_field(tmp_path):
    path = _write(tmp_path, MODEL + "card:\n  limitations: [small data]\n")
    with pytest.raises(ConfigError) as caught:
        load_model(path)
    [problem] = caught.value.problems
    assert problem.key == "card.intended_use" and problem.line == 6
    assert "required" in problem.message.lower()


def test_the_card_section_is_optional_and_parsed_when_given(tmp_path):
    assert load_model(_write(tmp_path, MODEL)).card is None
    text = MODEL + "card:\n  intended_use: demos\n  slices: [region]\n"
    card = load_model(_write(tmp_path / "b", text)).card
    assert card is not None and card.intended_use == "demos" and card.slices == ["region"]


def test_the_card_never_enters_the_fingerprint(repo_copy):
    """Editing the card (documentation) must not retrain the model."""
    from pipelines.registry.fingerprint import compute
    from pipelines.repo.layout import Repo

    before = compute(Repo(repo_copy), "tumor-classifier", "v").digest
    edit_yaml(repo_copy / "models" / "tumor-classifier" / "model.yaml", lambda d: d.pop("card"))
    assert compute(Repo(repo_copy), "tumor-classifier", "v").digest == before


def test_validate_flags_a_card_section_that_lacks_intended_use(repo_copy):
    from pipelines.repo.layout import Repo
    from pipelines.repo.validate import validate_repo

    path = repo_copy / "models" / "tumor-classifier" / "model.yaml"
    assert validate_repo(Repo(repo_copy)) == []
    edit_yaml(path, lambda d: d["card"].pop("intended_use"))
    [problem] = validate_repo(Repo(repo_copy))
    assert problem.file == path and problem.key == "card.intended_use"


def test_validate_flags_the_label_as_a_slice_column(repo_copy):
    from pipelines.repo.layout import Repo
    from pipelines.repo.validate import validate_repo

    path = repo_copy / "models" / "tumor-classifier" / "model.yaml"
    edit_yaml(path, lambda d: d["card"].update({"slices": ["label"]}))
    [problem] = validate_repo(Repo(repo_copy))
    assert problem.key == "card.slices" and "label column" in problem.message
