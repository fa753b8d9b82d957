"""JSON Schemas generated from the config models, committed under schemas/ for editors and pre-commit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from pipelines.config.dataset import DatasetConfig
from pipelines.config.model import ModelConfig
from pipelines.config.platform import PlatformConfig
from pipelines.config.prompt import Cases, PromptConfig

SCHEMA_FILES: dict[str, Any] = {
    "platform.schema.json": PlatformConfig,
    "model.schema.json": ModelConfig,
    "dataset.schema.json": DatasetConfig,
    "prompt.schema.json": PromptConfig,
    "prompt-cases.schema.json": Cases,
}


def render_schemas() -> dict[str, str]:
    """File name -> schema text, deterministic so `--check` can compare bytes."""
    out = {}
    for filename, model in SCHEMA_FILES.items():
        schema = TypeAdapter(model).json_schema()
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
        out[filename] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in render_schemas().items():
        path = folder / filename
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(folder: Path) -> list[str]:
    """Names of committed schema files that differ from what the models generate."""
    stale = []
    for filename, text in render_schemas().items():
        path = folder / filename
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(filename)
    return stale
