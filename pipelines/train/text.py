"""The text classifier: a pretrained encoder from a PyPI package + mean pooling + linear head.

Imports torch and transformers: import this module lazily.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from pipelines.artifacts.networks import TextNet
from pipelines.config import TextClassifierConfig
from pipelines.train.distributed import Distributed, ShardedBatches

__all__ = ["base_model_path", "build_text_model", "text_batches", "text_param_groups"]

_NO_DECAY = ("bias", "LayerNorm.weight", "LayerNorm.bias", "layernorm", "norm.weight", "norm.bias")


def base_model_path(config: TextClassifierConfig) -> Path:
    """The weights folder shipped by the base model's package (`<module>.get_model_path()`)."""
    try:
        module = importlib.import_module(config.base_model.module)
    except ImportError as exc:
        raise RuntimeError(
            f"base model package '{config.base_model.package}' (module {config.base_model.module}) "
            f"is not installed: {exc}"
        ) from None
    return Path(module.get_model_path())


def build_text_model(config: TextClassifierConfig, n_classes: int) -> tuple[TextNet, Any]:
    """The pretrained encoder and its tokenizer, with a fresh head for `n_classes`."""
    from transformers import AutoModel, AutoTokenizer

    path = base_model_path(config)
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    encoder = AutoModel.from_pretrained(str(path))
    model = TextNet(
        encoder,
        hidden_size=int(encoder.config.hidden_size),
        n_classes=n_classes,
        dropout=config.training.dropout,
    )
    return model, tokenizer


def text_batches(
    tokenizer: Any,
    texts: Sequence[str],
    label_ids: Sequence[int],
    *,
    batch_size: int,
    max_length: int,
    shuffle: bool,
    seed: int,
    shard: Distributed | None = None,
) -> DataLoader[Any]:
    """Batches tokenized on the fly and padded to the longest in the batch (short chat lines).

    With `shard` (a torchrun rank), this rank's share of the shuffled batches (ShardedBatches)."""
    rows = list(zip(texts, label_ids, strict=True))

    def collate(items: list[tuple[str, int]]) -> dict[str, torch.Tensor]:
        batch = tokenizer(
            [t for t, _ in items], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        return {
            "input_ids": batch["input_ids"],
            "attention_mask": batch["attention_mask"],
            "labels": torch.tensor([y for _, y in items], dtype=torch.long),
        }

    if not shuffle:
        return DataLoader(rows, batch_size=batch_size, shuffle=False, collate_fn=collate)  # type: ignore[arg-type]
    sampler: Any = _LengthGroupedBatches([len(t) for t in texts], batch_size, seed)
    if shard is not None:
        sampler = ShardedBatches(sampler, shard.rank, shard.world_size)
    return DataLoader(rows, batch_sampler=sampler, collate_fn=collate)  # type: ignore[arg-type]


class _LengthGroupedBatches:
    """Shuffled batches of similar-length texts: padding to the batch's longest wastes little.

    Each epoch: shuffle, cut into pools of `_POOL` batches, sort each pool by length, cut into
    batches, shuffle the batches. Deterministic per (seed, epoch).
    """

    _POOL = 20  # batches per sorting pool: big enough to group lengths, small enough to stay random

    def __init__(self, lengths: list[int], batch_size: int, seed: int) -> None:
        self.lengths = lengths
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        pool = self.batch_size * self._POOL
        batches: list[list[int]] = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=lambda i: self.lengths[i])
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        for b in torch.randperm(len(batches), generator=generator).tolist():
            yield batches[b]


def text_param_groups(model: TextNet, config: TextClassifierConfig) -> list[dict[str, Any]]:
    """Encoder at `learning_rate`, the new head at `head_learning_rate`; no decay on biases/norms."""
    t = config.training
    groups: list[dict[str, Any]] = []
    for part, lr in ((model.encoder, t.learning_rate), (model.head, t.head_learning_rate)):
        decay = [p for n, p in part.named_parameters() if not any(k in n for k in _NO_DECAY)]
        no_decay = [p for n, p in part.named_parameters() if any(k in n for k in _NO_DECAY)]
        groups.append({"params": decay, "lr": lr, "weight_decay": t.weight_decay})
        if no_decay:
            groups.append({"params": no_decay, "lr": lr, "weight_decay": 0.0})
    return groups
