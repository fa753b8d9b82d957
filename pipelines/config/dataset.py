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


class IndexConfig(StrictModel):
    embedding_model: str = "all-minilm-l6-v2"
    """Embedding model the `index` stage encodes the chunks with (pipelines/vectors EMBEDDING_MODELS);
    a prompt whose retrieval asks for another model is refused when it opens the index."""


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
    expectations: str = "expectations.yaml"
    """Great Expectations suite, relative to the dataset folder."""
    index: IndexConfig | None = None
    """Kind `documents` only: how the `index` stage embeds the chunks (default: all-minilm-l6-v2)."""

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
        return self

    @property
    def columns(self) -> list[str]:
        """The columns ingest.py must return: the label, then the text or features; or the chunk fields."""
        if self.kind == "documents":
            return list(DOCUMENT_COLUMNS)
        return [
            self.label_column,
            *([self.text_column] if self.text_column else []),
            *(self.feature_columns or []),
        ]

    @property
    def embedding_model(self) -> str:
        """The index's embedding model (kind `documents`): `index.embedding_model`, or the default."""
        return (self.index or IndexConfig()).embedding_model
