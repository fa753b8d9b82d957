"""The base every config model shares: strict types, no unknown keys, documented fields."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# DNS-label style, so a name works as a Kubernetes object, an MLflow model and a CI job id.
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$")]


class StrictModel(BaseModel):
    """Unknown keys and wrong types are errors; attribute docstrings become schema descriptions."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        use_attribute_docstrings=True,
        populate_by_name=False,
    )
