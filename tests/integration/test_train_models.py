"""Real training on small samples of both datasets, then load, predict, evaluate and report.

The frames are built here from the installed packages (chatterbot-corpus, scikit-learn) the way the
data layer's ingestion does, so these tests do not depend on DVC.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.artifacts import load
from pipelines.config import TabularClassifierConfig, TextClassifierConfig, load_dataset, load_model
from pipelines.evaluate import evaluate_model
from pipelines.train import train_model

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _split(df: pd.DataFrame, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    rest, test = train_test_split(df, test_size=0.2, stratify=df["label"], random_state=seed)
    train, val = train_test_split(rest, test_size=0.15 / 0.8, stratify=rest["label"], random_state=seed)
    return train.reset_index(drop=True), val.reset_index(drop=True), test.reset_index(drop=True)


def _breast_cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    return frame.drop(columns=["target"]).assign(label=frame["target"].map({0: "malignant", 1: "benign"}))


def _chatterbot(topics: list[str]) -> pd.DataFrame:
    import chatterbot_corpus
    import yaml

    folder = Path(chatterbot_corpus.__file__).parent / "data" / "english"
    rows = []
    for topic in topics:
        data = yaml.safe_load((folder / f"{topic}.yml").read_text(encoding="utf-8"))
        rows += [
            (u.strip(), topic)
            for conv in data["conversations"]
            for u in conv
            if isinstance(u, str) and u.strip()
        ]
    return pd.DataFrame(rows, columns=["text", "label"]).drop_duplicates("text").reset_index(drop=True)


def _tabular_config(**training: object) -> TabularClassifierConfig:
    config = load_model(ROOT / "models" / "tumor-classifier" / "model.yaml")
    assert isinstance(config, TabularClassifierConfig)
    return config.model_copy(update={"training": config.training.model_copy(update=training)})


def test_tumor_classifier_trains_and_passes_its_gates(tmp_path: Path) -> None:
    dataset = load_dataset(ROOT / "datasets" / "breast-cancer" / "dataset.yaml")
    train, val, test = _split(_breast_cancer())
    config = _tabular_config()
    logged: list[int] = []
    result = train_model(
        config, dataset, train, val, tmp_path / "model", log_metrics=lambda m, e: logged.append(e)
    )
    assert logged == list(range(1, config.training.epochs + 1))
    predictor = load(result.artifact_dir)
    assert predictor.labels == ["benign", "malignant"]
    assert predictor.feature_names == [c for c in train.columns if c != "label"]
    evaluation = evaluate_model(config, dataset, predictor, test, tmp_path / "eval")
    assert evaluation.passed, evaluation.summary()
    assert evaluation.metrics["roc_auc"] > 0.98
    assert evaluation.report_md.is_file() and evaluation.report_html.is_file()
    assert len(evaluation.plots) == 4


def test_an_undertrained_tumor_classifier_fails_its_gates_and_the_champion_gate(tmp_path: Path) -> None:
    dataset = load_dataset(ROOT / "datasets" / "breast-cancer" / "dataset.yaml")
    train, val, test = _split(_breast_cancer())
    good = load(train_model(_tabular_config(), dataset, train, val, tmp_path / "good").artifact_dir)
    broken_config = _tabular_config(epochs=1, learning_rate=1e-6, max_train_samples=20)
    broken = load(train_model(broken_config, dataset, train, val, tmp_path / "broken").artifact_dir)
    evaluation = evaluate_model(broken_config, dataset, broken, test, tmp_path / "eval", champion=good)
    assert not evaluation.passed
    failed = {g.gate for g in evaluation.gates if not g.passed}
    assert {"accuracy min", "roc_auc max_regression"} <= failed
    assert evaluation.summary().splitlines()[1].startswith("  FAIL  ")


def test_topic_classifier_fine_tunes_on_a_small_sample(tmp_path: Path) -> None:
    dataset = load_dataset(ROOT / "datasets" / "chatterbot-topics" / "dataset.yaml")
    frame = _chatterbot(["sports", "money", "coding", "food"])
    train, val, test = _split(frame)
    config = load_model(ROOT / "models" / "topic-classifier" / "model.yaml")
    assert isinstance(config, TextClassifierConfig)
    config = config.model_copy(
        update={
            "training": config.training.model_copy(
                update={"epochs": 2, "max_length": 32, "max_train_samples": 150}
            )
        }
    )
    result = train_model(config, dataset, train, val, tmp_path / "model", device="cpu")
    assert result.params["n_train"] == min(150, len(train)) and result.params["n_classes"] == 4
    assert result.history[1]["train_loss"] < result.history[0]["train_loss"]
    assert {p.name for p in result.artifact_dir.iterdir()} >= {
        "aip-model.json",
        "model.safetensors",
        "config.json",
        "tokenizer.json",
    }
    predictor = load(result.artifact_dir)
    proba = predictor.predict_proba(test["text"].tolist())
    assert proba.shape == (len(test), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(predictor.predict(["who won the football match"])) <= set(predictor.labels)
    evaluation = evaluate_model(config, dataset, predictor, test, tmp_path / "eval")
    assert evaluation.metrics["accuracy"] > (
        test["label"].value_counts().max() / len(test)
    )  # beats the majority class
    assert evaluation.report_html.is_file() and "Behavioural tests" in evaluation.report_md.read_text()
    assert len(evaluation.behavioural) == len(config.evaluation.behavioural.cases)
