"""Model cards of the trained registry's versions (tests/support/registry.py): written and logged by
`aip run` at registration and after the deploy, with the facts the registry holds; and the check
that fails, naming the file and field, when a required fact is missing.

The session's registry is read-only: tests that change a model.yaml or a tag work on a private copy,
and only with `--check`/in-process builds there (the copy shares the original's artifact folders)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.cli import run_aip
from tests.support.registry import TEXT, TUMOR, mlflow_client, private_copy, tracking_uri
from tests.support.repo import edit_yaml

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _card(root: Path, model: str, version: str = "1"):
    from pipelines.cards import build_card
    from pipelines.registry.context import Context
    from pipelines.repo.layout import Repo

    with tracking_uri(root):
        ctx = Context.open(Repo(root), "local")
        return build_card(ctx, model, version)


@pytest.fixture(scope="module")
def tumor_card(trained_registry):
    return _card(trained_registry.checked_root(), TUMOR)


@pytest.mark.parametrize("model", [TUMOR, TEXT])
def test_aip_run_logged_a_complete_card_with_every_registered_version(trained_registry, model, tmp_path):
    import mlflow

    client = mlflow_client(trained_registry.checked_root())
    version = client.get_model_version(model, "1")
    assert version.tags["aip.card"] == f"runs:/{version.run_id}/card/model-card.html"
    assert version.tags["aip.card.gaps"] == "none"
    logged = {Path(a.path).name for a in client.list_artifacts(version.run_id, "card")}
    assert logged == {"model-card.md", "model-card.html"}
    with tracking_uri(trained_registry.root):
        markdown = Path(
            mlflow.artifacts.download_artifacts(
                f"runs:/{version.run_id}/card/model-card.md", dst_path=str(tmp_path)
            )
        )
    text = markdown.read_text()
    assert text.startswith(f"# Model card: {model} v1\n\n**COMPLETE")
    # written again after the deploy step: the history shows the direct promotion to local
    assert "| local | yes | promoted_directly |" in text


def test_the_card_names_owner_data_version_and_training(tumor_card, trained_registry):
    client = mlflow_client(trained_registry.root)
    version = client.get_model_version(TUMOR, "1")
    assert tumor_card.complete, tumor_card.gaps
    from pipelines.repo.layout import Repo

    org = Repo(trained_registry.root).platform.organisation  # the template's or a fork's
    assert tumor_card.facts["owner"] == org.team_handle("ml")
    assert tumor_card.facts["task"] == "tabular-classification"
    assert tumor_card.intended_use.startswith("An example tabular model")
    assert any("not a medical device" in s for s in tumor_card.out_of_scope)
    assert tumor_card.data["data version"] == version.tags["aip.data.breast-cancer"]
    assert tumor_card.data["licence"] == "BSD-3-Clause"
    rows = [int(tumor_card.data[f"rows ({s})"]) for s in ("train", "validation", "test")]
    assert sum(rows) == 569 and rows[2] > 100  # breast-cancer's 569 tumours, split 65/15/20
    assert tumor_card.training["epochs"] == "60"
    assert tumor_card.lineage["fingerprint"] == version.tags["aip.fingerprint"]
    assert tumor_card.lineage["git commit"] == version.tags["aip.git_commit"]
    assert tumor_card.lineage["training run"] == version.run_id


def test_the_card_has_metrics_with_intervals_gates_and_behavioural_results(tumor_card, trained_registry):
    version = mlflow_client(trained_registry.root).get_model_version(TUMOR, "1")
    metrics = {m.metric: m for m in tumor_card.metrics}
    assert metrics["roc_auc"].value == pytest.approx(float(version.tags["aip.metric.test_roc_auc"]))
    low, high = json.loads(metrics["roc_auc"].interval)  # "[low, high]" from the evaluation report
    assert low <= metrics["roc_auc"].value <= high
    assert metrics["log_loss"].better == "lower"
    gates = {g.gate: g.passed for g in tumor_card.gates}
    assert set(gates) == {k.removeprefix("aip.gate.") for k in version.tags if k.startswith("aip.gate.")}
    assert all(gates.values()) and len(gates) >= 4
    assert len(tumor_card.behavioural) == 11 and all(b.passed for b in tumor_card.behavioural[:4])
    assert tumor_card.evaluation["evaluation run"] == version.tags["aip.evaluation_run"]
    assert tumor_card.evaluation["compared with"] == "no champion (first version)"


def test_the_card_reports_slices_explanations_and_deploy_history(tumor_card):
    assert "declares no sensitive attribute" in tumor_card.fairness_note
    [per_class] = tumor_card.slices
    assert sorted(row[0] for row in per_class.rows) == ["benign", "malignant"]
    assert sum(int(row[1]) for row in per_class.rows) == int(tumor_card.data["rows (test)"])
    assert tumor_card.explanations or tumor_card.explanations_note.startswith("no explanation logged")
    [local] = [d for d in tumor_card.deploys if d.env == "local"]
    assert local.holds_alias and local.verdict == "promoted_directly" and local.finished.endswith("Z")


def test_card_check_fails_naming_each_missing_fact(trained_registry, tumor_card, tmp_path):
    assert tumor_card.complete  # the same check passes on the untouched registry (test above)
    root = private_copy(trained_registry.checked_root(), tmp_path / "copy", keep=[TUMOR])
    shutil.rmtree(root / ".aip" / "cards")  # the lifecycle's copies: --check must not write new ones
    edit_yaml(root / "models" / TUMOR / "model.yaml", lambda d: d.pop("card"))
    mlflow_client(root).delete_model_version_tag(TUMOR, "1", "aip.data.breast-cancer")
    result = run_aip(root, "card", TUMOR, "--check")
    assert result.returncode == 1, result.stderr
    assert "models/tumor-classifier/model.yaml: card.intended_use" in result.stderr
    assert "tumor-classifier v1: tag aip.data.breast-cancer" in result.stderr
    assert not (root / ".aip" / "cards").exists()  # --check writes nothing


def test_aip_card_writes_the_env_version_card_and_unknown_slices_are_gaps(trained_registry, tmp_path):
    root = private_copy(trained_registry.checked_root(), tmp_path / "copy", keep=[TUMOR])
    edit_yaml(
        root / "models" / TUMOR / "model.yaml",
        lambda d: d["card"].update({"slices": ["mean radius", "region"]}),
    )
    result = run_aip(root, "card", TUMOR, "--env", "local", "--no-log", "--out", str(tmp_path / "out"))
    assert result.returncode == 1  # `region` is not a column of the test split
    assert "card.slices (region)" in result.stderr
    page = root / ".aip" / "cards" / TUMOR / "v1" / "model-card.html"
    assert result.stdout.strip() == str(page)
    html = page.read_text()
    assert "<h3>By mean radius</h3>" in html and "distinct values" in html
    assert (tmp_path / "out" / f"{TUMOR}-v1-model-card.md").is_file()
    # --no-log: the version's card in the registry is the lifecycle's, untouched
    assert mlflow_client(root).get_model_version(TUMOR, "1").tags["aip.card.gaps"] == "none"
