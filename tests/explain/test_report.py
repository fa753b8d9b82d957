"""The evaluation report explains both models: a SHAP section, its plots, explanations.json, logged to
MLflow; a model that cannot be explained gets a note, not a failed evaluation."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from pipelines.explain import EXPLANATIONS_FILE, explain_evaluation
from tests.support.registry import TEXT, TUMOR, mlflow_client


def _report_dir(root, model):
    return root / ".aip" / "reports" / "local" / model


@pytest.mark.parametrize("model", [TUMOR, TEXT])
def test_the_evaluation_report_has_a_shap_section_with_plots(trained_root, model):
    folder = _report_dir(trained_root, model)
    markdown = (folder / "report.md").read_text()
    page = (folder / "report.html").read_text()
    document = json.loads((folder / EXPLANATIONS_FILE).read_text())
    assert "## Explanations (SHAP)" in markdown and "<h2>Explanations (SHAP)</h2>" in page
    assert document["status"] == "explained" and document["plots"]
    for plot in document["plots"]:
        assert (folder / plot).stat().st_size > 5_000  # a drawn PNG, linked from the report
        assert f"]({plot})" in markdown
    for plot in document["plots"]:  # inlined in the self-contained page
        assert base64.b64encode((folder / plot).read_bytes()).decode() in page
    ranking = document["global_importance"]
    assert set(ranking) == set(document["labels"]) and all(ranking.values())
    assert document["seconds"] > 0 and document["max_evals"] > 0


def test_the_text_report_highlights_the_tokens_of_each_behavioural_case(trained_root):
    folder = _report_dir(trained_root, TEXT)
    document = json.loads((folder / EXPLANATIONS_FILE).read_text())
    page = (folder / "report.html").read_text()
    assert document["kind"] == "text" and len(document["cases"]) == 22  # every case with input.text
    case = document["cases"][0]
    assert len(case["tokens"]) == len(case["attributions"])
    assert 'title="' in page and "rgba(" in page  # tokens shaded by their attribution


def test_the_evaluation_run_logs_explanations_json(trained_root):
    client = mlflow_client(trained_root)
    for model in (TUMOR, TEXT):
        runs = client.search_runs(
            [client.get_experiment_by_name(f"aip/{model}").experiment_id],
            filter_string="tags.`aip.step` = 'evaluate'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        assert runs, model
        logged = [a.path for a in client.list_artifacts(runs[0].info.run_id, "evaluation")]
        assert f"evaluation/{EXPLANATIONS_FILE}" in logged, logged


def test_a_model_that_cannot_be_explained_gets_a_note(tumour, tmp_path):
    odd = dataclasses.replace(tumour.predictor.manifest, kind="image")
    predictor = type(tumour.predictor)(odd, tumour.predictor.model, path=tumour.predictor.path)
    section = explain_evaluation(tumour.config, tumour.dataset, predictor, tumour.test, tmp_path)
    assert section.note is not None and "kind 'image' has no explainer" in section.note
    assert json.loads((tmp_path / EXPLANATIONS_FILE).read_text())["status"] == "skipped"
    assert any("Not explained: " in line for line in section.markdown())
    assert not section.plots


def test_explanations_can_be_switched_off(tumour, tmp_path):
    explain = tumour.config.evaluation.explain.model_copy(update={"enabled": False})
    evaluation = tumour.config.evaluation.model_copy(update={"explain": explain})
    config = tumour.config.model_copy(update={"evaluation": evaluation})
    section = explain_evaluation(config, tumour.dataset, tumour.predictor, tumour.test, tmp_path)
    assert "evaluation.explain.enabled: false" in (section.note or "")
