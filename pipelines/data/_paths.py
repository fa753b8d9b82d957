"""Where a dataset's files live; the one place that knows the `data/` layout DVC's stages declare."""

from __future__ import annotations

from pathlib import Path

from pipelines.repo.layout import Repo

SPLITS = ("train", "validation", "test")
"""Split names, in the order they are written and reported."""


def data_dir(repo: Repo, dataset: str) -> Path:
    """`datasets/<name>/data/`: produced by the DVC stages, git-ignored, stored in the DVC remote."""
    return repo.dataset_dir(dataset) / "data"


def raw_csv(repo: Repo, dataset: str) -> Path:
    """Output of the ingest stage."""
    return data_dir(repo, dataset) / "raw.csv"


def validation_json(repo: Repo, dataset: str) -> Path:
    """Output of the validate stage (a DVC metric, not cached)."""
    return data_dir(repo, dataset) / "validation.json"


def splits_dir(repo: Repo, dataset: str) -> Path:
    """Output of the split stage: one CSV per name in SPLITS; its md5 is the data version."""
    return data_dir(repo, dataset) / "splits"


def lock_file(repo: Repo, dataset: str) -> Path:
    """`dvc.lock` beside the dataset's `dvc.yaml`, committed after a repro."""
    return repo.dataset_dir(dataset) / "dvc.lock"


def display(repo: Repo, path: Path) -> str:
    """A path relative to the repo root when it is inside it (short, and the same on every machine)."""
    try:
        return str(path.relative_to(repo.root))
    except ValueError:
        return str(path)
