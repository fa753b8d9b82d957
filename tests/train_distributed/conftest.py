"""Shared pieces of the distributed-training tests: the tabular model's frames from the prepared data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.data import load_split
from pipelines.repo.layout import Repo

MODEL = "tumor-classifier"


@dataclass
class Frames:
    config: Any
    dataset: Any
    train: Any
    validation: Any


@pytest.fixture(scope="session")
def tabular(prepared_root: Path) -> Frames:
    """tumor-classifier's config and its train/validation splits (plain files, no feature store)."""
    repo = Repo(prepared_root)
    config = repo.model(MODEL)
    dataset = repo.dataset(config.dataset)
    return Frames(
        config,
        dataset,
        load_split(repo, config.dataset, "train"),
        load_split(repo, config.dataset, "validation"),
    )


def short(frames: Frames, epochs: int) -> Any:
    """The config with fewer epochs: the tests need steps, not a good model."""
    training = frames.config.training.model_copy(update={"epochs": epochs})
    return frames.config.model_copy(update={"training": training})
