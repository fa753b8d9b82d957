"""The datasets through the three stage functions (ingest → validate → split or index, no DVC)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.data import ValidationReport
from pipelines.repo.layout import Repo


@dataclass(frozen=True)
class Prepared:
    """A prepared repo copy and each dataset's validation report (tests/data's `prepared` fixture)."""

    repo: Repo
    reports: dict[str, ValidationReport]


def prepare_data(root: Path) -> Path:
    """Ingest, validate and split every dataset of the repo copy at `root`, and export the feature store's
    offline source where dataset.yaml has `features`: what the stages write on a fresh clone. The
    validation report stays in data/validation.json (tests/data asserts it passed)."""
    from pipelines.data import ingest, split, validate

    repo = Repo(root)
    for name in repo.dataset_names():
        ingest(repo, name)
        validate(repo, name)
        if repo.dataset(name).kind == "documents":
            from pipelines.vectors import build_index

            build_index(repo, name)  # a documents dataset ends in its index, not in splits
        else:
            split(repo, name)
        if repo.dataset(name).features is not None:
            from pipelines.features import export_source

            export_source(repo, name)  # the `features` stage: training reads the store, not the splits
    return root
