"""`aip-model.json`: what a loader needs to rebuild the model and prepare its inputs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipelines.artifacts.errors import ArtifactError

__all__ = ["FORMAT_VERSION", "MANIFEST_FILE", "WEIGHTS_FILE", "Manifest"]

FORMAT_VERSION = 1
"""Bumped on any change a loader of the previous version could not read."""
MANIFEST_FILE = "aip-model.json"
WEIGHTS_FILE = "model.safetensors"
_FORMAT = "aip-model"

Kind = Literal["text", "tabular"]


@dataclass(frozen=True)
class Manifest:
    """The manifest of one artifact.

    `architecture` text: {"encoder_config": "config.json", "pooling": "mean", "dropout": float};
    tabular: {"hidden_sizes": [int, ...], "dropout": float}.
    `preprocessing` text: {"max_length": int, "tokenizer": "."} (folder relative to the artifact);
    tabular: {"feature_names": [...], "mean": [...], "std": [...]} (standardisation, input order).
    """

    kind: Kind
    task: str
    labels: list[str]
    architecture: dict[str, Any]
    preprocessing: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    weights: str = WEIGHTS_FILE
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps({"format": _FORMAT, **asdict(self)}, indent=2, sort_keys=False) + "\n"

    def write(self, folder: Path) -> Path:
        path = folder / MANIFEST_FILE
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ArtifactError(f"{folder}: no {MANIFEST_FILE}; not an aip model artifact") from None
        except json.JSONDecodeError as exc:
            raise ArtifactError(f"{path}: invalid JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ArtifactError(f'{path}: not an aip model manifest (missing "format": "{_FORMAT}")')
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ArtifactError(
                f"{path}: format_version {version!r} is not supported (this loader reads {FORMAT_VERSION})"
            )
        if data.get("kind") not in ("text", "tabular"):
            raise ArtifactError(f"{path}: kind must be 'text' or 'tabular', got {data.get('kind')!r}")
        data.pop("format")
        try:
            manifest = cls(**data)
        except TypeError as exc:
            raise ArtifactError(f"{path}: {exc}") from None
        if not manifest.labels or len(set(manifest.labels)) != len(manifest.labels):
            raise ArtifactError(f"{path}: labels must be a non-empty list of distinct names")
        return manifest
