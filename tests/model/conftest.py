"""A tumour classifier trained once per session with the repo's real config (about 5 s on CPU)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from pipelines.artifacts import Predictor, load
from pipelines.config import DatasetConfig, TabularClassifierConfig, load_dataset, load_model
from pipelines.train import train_model

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class TrainedTumorModel:
    config: TabularClassifierConfig
    dataset: DatasetConfig
    predictor: Predictor
    test: pd.DataFrame


@pytest.fixture(scope="session")
def tumor_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainedTumorModel]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    config = load_model(ROOT / "models" / "tumor-classifier" / "model.yaml")
    assert isinstance(config, TabularClassifierConfig)
    dataset = load_dataset(ROOT / "datasets" / "breast-cancer" / "dataset.yaml")
    raw = load_breast_cancer(as_frame=True).frame
    frame = raw.drop(columns=["target"]).assign(label=raw["target"].map({0: "malignant", 1: "benign"}))
    split = dataset.split
    rest, test = train_test_split(
        frame, test_size=split.test, stratify=frame["label"], random_state=split.seed
    )
    train, val = train_test_split(
        rest, test_size=split.validation / (1 - split.test), stratify=rest["label"], random_state=split.seed
    )
    folder = tmp_path_factory.mktemp("tumor-classifier")
    result = train_model(config, dataset, train, val, folder, device="cpu")
    yield TrainedTumorModel(config, dataset, load(result.artifact_dir), test.reset_index(drop=True))
