"""Write an artifact folder: manifest, safetensors weights and (text) encoder config + tokenizer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.artifacts.manifest import WEIGHTS_FILE, Manifest

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from pipelines.artifacts.networks import TabularNet, TextNet

__all__ = ["save_tabular", "save_text"]

_ENCODER_CONFIG = "config.json"


def _save_weights(model: Any, folder: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})


def save_text(
    folder: Path,
    model: TextNet,
    tokenizer: PreTrainedTokenizerBase,
    labels: Sequence[str],
    *,
    max_length: int,
    dropout: float,
    task: str = "text-classification",
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Save a fine-tuned text classifier into `folder` (created); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    _save_weights(model, folder)
    model.encoder.config.save_pretrained(str(folder))  # writes config.json
    tokenizer.save_pretrained(str(folder))
    Manifest(
        kind="text",
        task=task,
        labels=list(labels),
        architecture={"encoder_config": _ENCODER_CONFIG, "pooling": "mean", "dropout": dropout},
        preprocessing={"max_length": max_length, "tokenizer": "."},
        metadata=dict(metadata or {}),
    ).write(folder)
    return folder


def save_tabular(
    folder: Path,
    model: TabularNet,
    labels: Sequence[str],
    *,
    feature_names: Sequence[str],
    hidden_sizes: Sequence[int],
    dropout: float,
    task: str = "tabular-classification",
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Save a tabular MLP into `folder` (created); mean/std come from the model's buffers."""
    folder.mkdir(parents=True, exist_ok=True)
    _save_weights(model, folder)
    Manifest(
        kind="tabular",
        task=task,
        labels=list(labels),
        architecture={"hidden_sizes": list(hidden_sizes), "dropout": dropout},
        preprocessing={
            "feature_names": list(feature_names),
            "mean": [float(x) for x in model.mean.tolist()],
            "std": [float(x) for x in model.std.tolist()],
        },
        metadata=dict(metadata or {}),
    ).write(folder)
    return folder
