"""`datasets/<name>/dataset.yaml`: one versioned dataset, its columns, split and expectations."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from pipelines.config._base import Name, StrictModel


class SplitConfig(StrictModel):
    seed: int = 42
    """Seed of the deterministic split; changing it changes the data version."""
    validation: float = Field(0.15, gt=0, lt=0.5)
    """Fraction of rows held out for validation during training (early stopping, epochs)."""
    test: float = Field(0.15, gt=0, lt=0.5)
    """Fraction of rows held out for the final evaluation and gates."""
    stratify: bool = True
    """Keep class proportions equal across splits."""


class DatasetConfig(StrictModel):
    name: Name
    """Dataset id; must equal the folder name."""
    description: str
    """One sentence for the catalogue."""
    license: str
    """SPDX id of the data's licence; the licence text lives beside dataset.yaml."""
    source: str
    """Where ingest.py reads from (for people; the code is the truth)."""
    kind: Literal["text", "tabular"]
    """`text`: one text column and a label; `tabular`: numeric feature columns and a label."""
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

    @model_validator(mode="after")
    def _text_needs_text_column(self) -> DatasetConfig:
        if self.kind == "text" and not self.text_column:
            raise ValueError("kind 'text' requires text_column")
        if self.kind == "tabular" and self.text_column:
            raise ValueError("kind 'tabular' takes no text_column")
        return self
