"""A repo copy for tuning tests: breast-cancer prepared (ingest, split), and a tumor-classifier
search small enough to run in seconds: 6 epochs, pruning from epoch 2 after two finished trials, and
a learning rate of 1e-6 among the choices, which learns nothing in 6 epochs and so gets pruned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.repo import edit_yaml, make_repo_copy

SMALL_SEARCH = {
    "metric": "log_loss",
    "n_trials": 8,
    "space": {
        "learning_rate": {"type": "categorical", "choices": [0.001, 0.003, 1.0e-6]},
        "dropout": {"type": "float", "low": 0.0, "high": 0.4},
        "hidden_sizes": {"type": "categorical", "choices": [[16], [32, 16]]},
    },
    "pruner": {"kind": "median", "n_startup_trials": 2, "n_warmup_steps": 1},
    "sampler": {"kind": "tpe", "seed": 7, "n_startup_trials": 5},
}


def _small(data: Any) -> None:
    data["training"]["epochs"] = 6
    data["search"] = SMALL_SEARCH


@pytest.fixture(scope="session")
def tune_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only: tests that tune or write copy it first (`private_copy`)."""
    from pipelines.data import ingest, split
    from pipelines.repo.layout import Repo

    root = make_repo_copy(tmp_path_factory.mktemp("tune") / "repo")
    repo = Repo(root)
    ingest(repo, "breast-cancer")  # the DVC stages' functions; the validate stage is tests/data's concern
    split(repo, "breast-cancer")
    edit_yaml(root / "models" / "tumor-classifier" / "model.yaml", _small)
    from pipelines.registry.tracking import connect

    connect(repo)  # the embedded MLflow store's tables, made once: copies skip MLflow's migrations
    return root
