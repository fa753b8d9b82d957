"""`datasets/<name>/dataset.yaml`: one versioned dataset, its columns, split and expectations."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from pipelines.config._base import Name, StrictModel

DOCUMENT_COLUMNS = ("id", "path", "heading", "text", "licence")
"""The columns of a `documents` dataset: one row per chunk (its id, the repo-relative file it comes
from, the heading path it sits under, its text, and the SPDX id of that text's licence)."""
_NOT_FOR_DOCUMENTS = ("label_column", "text_column", "feature_columns", "split")


class SplitConfig(StrictModel):
    seed: int = 42
    """Seed of the deterministic split; changing it changes the data version."""
    validation: float = Field(0.15, gt=0, lt=0.5)
    """Fraction of rows held out for validation during training (early stopping, epochs)."""
    test: float = Field(0.15, gt=0, lt=0.5)
    """Fraction of rows held out for the final evaluation and gates."""
    stratify: bool = True
    """Keep class proportions equal across splits."""


class DaskConfig(StrictModel):
    """How `engine: dask` runs the ingest and split stages (docs/data-preparation.md)."""

    partitions: int = Field(8, ge=1, le=4096)
    """Partitions the rows are cut into (the unit of parallel work); more for bigger data."""
    scheduler_address: str | None = None
    """A running Dask scheduler (`tcp://host:8786`); None: the environment's `dask_scheduler` in
    platform.yaml, else a LocalCluster of 2 worker processes on 127.0.0.1."""
    timeout_s: float = Field(120.0, gt=0)
    """Seconds to wait for the scheduler, for tasks left without workers, and for any one partition's
    result, before the stage fails (so a lost cluster never hangs it); raise it for huge partitions."""


class IndexConfig(StrictModel):
    embedding_model: str = "all-minilm-l6-v2"
    """Embedding model the `index` stage encodes the chunks with (pipelines/vectors EMBEDDING_MODELS);
    a prompt whose retrieval asks for another model is refused when it opens the index."""


class FeaturesConfig(StrictModel):
    """A tabular dataset served from a Feast feature store (docs/features.md): training reads its rows
    with `get_historical_features`, the server looks them up online by entity key."""

    repo: str = "features"
    """The Feast feature repo (definitions.py), relative to the dataset folder."""
    entity_column: str
    """Column ingest.py writes holding each row's entity key (a stable integer id); never a model input."""
    timestamp_column: str
    """Column ingest.py writes holding each row's event time (ISO 8601, UTC); never a model input."""
    service: str
    """The Feast feature service whose features are the model's inputs (defined in definitions.py)."""


class DatasetConfig(StrictModel):
    name: Name
    """Dataset id; must equal the folder name."""
    description: str
    """One sentence for the catalogue."""
    license: str
    """SPDX id of the data's licence; the licence text lives beside dataset.yaml."""
    source: str
    """Where ingest.py reads from (for people; the code is the truth)."""
    kind: Literal["text", "tabular", "documents"]
    """`text`: one text column and a label; `tabular`: numeric feature columns and a label;
    `documents`: chunks of documents for retrieval (columns id, path, heading, text, licence), no
    label and no split: the pipeline is ingest -> validate -> index (docs/retrieval.md)."""
    label_column: str = "label"
    """Column holding the class label."""
    text_column: str | None = None
    """The text column (required for kind `text`)."""
    feature_columns: list[str] | None = None
    """Feature columns in model input order (kind `tabular`); None means every column but the label."""
    ingest: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments passed to `ingest.py:ingest(**ingest)`."""
    split: SplitConfig = Field(default_factory=SplitConfig)
    """How the deterministic split stage divides the rows."""
    engine: Literal["pandas", "dask"] = "pandas"
    """What runs the ingest and split stages: `pandas` in this process, or `dask` on a Dask cluster
    (kinds text and tabular); both write byte-identical files (docs/data-preparation.md)."""
    dask: DaskConfig = Field(default_factory=DaskConfig)
    """Options of `engine: dask`."""
    expectations: str = "expectations.yaml"
    """Great Expectations suite, relative to the dataset folder."""
    index: IndexConfig | None = None
    """Kind `documents` only: how the `index` stage embeds the chunks (default: all-minilm-l6-v2)."""
    features: FeaturesConfig | None = None
    """Kind `tabular` only: the Feast feature store holding the features (docs/features.md); requires
    `feature_columns`, so the entity and timestamp columns are never taken for inputs."""

    @model_validator(mode="after")
    def _columns_fit_the_kind(self) -> DatasetConfig:
        if self.kind == "text" and not self.text_column:
            raise ValueError("kind 'text' requires text_column")
        if self.kind == "tabular" and self.text_column:
            raise ValueError("kind 'tabular' takes no text_column")
        if self.kind == "documents":
            given = [key for key in _NOT_FOR_DOCUMENTS if key in self.model_fields_set]
            if given:
                raise ValueError(
                    f"kind 'documents' takes no {', '.join(given)}: its columns are fixed "
                    f"({', '.join(DOCUMENT_COLUMNS)}) and it is indexed, not split"
                )
        elif self.index is not None:
            raise ValueError(f"index is only for kind 'documents' (this dataset is {self.kind})")
        if self.features is not None:
            self._check_features(self.features)
        if self.engine == "dask" and self.kind == "documents":
            raise ValueError("engine 'dask' is for kinds text and tabular (a documents dataset is not split)")
        return self

    def _check_features(self, features: FeaturesConfig) -> None:
        if self.kind != "tabular":
            raise ValueError(f"features is only for kind 'tabular' (this dataset is {self.kind})")
        keys = [features.entity_column, features.timestamp_column]
        if not self.feature_columns:
            raise ValueError(
                "features requires feature_columns (the model's inputs in order), so that "
                f"{' and '.join(keys)} are never taken for inputs"
            )
        clash = [k for k in [*keys, self.label_column] if k in self.feature_columns]
        if clash:
            raise ValueError(f"feature_columns must not hold the key or label column(s) {clash}")

    @property
    def columns(self) -> list[str]:
        """The columns ingest.py must return: the label, then the text or features; or the chunk fields."""
        if self.kind == "documents":
            return list(DOCUMENT_COLUMNS)
        return [
            self.label_column,
            *([self.text_column] if self.text_column else []),
            *(self.feature_columns or []),
            *self.key_columns,
        ]

    @property
    def key_columns(self) -> list[str]:
        """The entity and timestamp columns of a dataset with `features` (never model inputs); else []."""
        if self.features is None:
            return []
        return [self.features.entity_column, self.features.timestamp_column]

    @property
    def embedding_model(self) -> str:
        """The index's embedding model (kind `documents`): `index.embedding_model`, or the default."""
        return (self.index or IndexConfig()).embedding_model
