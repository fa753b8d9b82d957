"""The tabular classifier: standardisation from the training split + a small MLP.

Imports torch: import this module lazily.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from pipelines.artifacts.networks import TabularNet
from pipelines.config import TabularClassifierConfig
from pipelines.train.distributed import Distributed

__all__ = ["build_tabular_model", "tabular_batches", "tabular_param_groups"]


def build_tabular_model(config: TabularClassifierConfig, train_x: np.ndarray, n_classes: int) -> TabularNet:
    """An MLP whose standardisation uses the training split's mean and std (std 0 -> 1)."""
    mean = train_x.mean(axis=0)
    std = train_x.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    t = config.training
    return TabularNet(mean.tolist(), std.tolist(), t.hidden_sizes, n_classes, t.dropout)


def tabular_batches(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int,
    shard: Distributed | None = None,
) -> DataLoader[Any]:
    """Batches of `features`/`labels`; with `shard`, this rank's share (a seeded DistributedSampler)."""
    dataset = TensorDataset(torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64)))

    def collate(items: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
        return {
            "features": torch.stack([f for f, _ in items]),
            "labels": torch.stack([label for _, label in items]),
        }

    if shard is not None:
        sampler: DistributedSampler[Any] = DistributedSampler(
            dataset, num_replicas=shard.world_size, rank=shard.rank, shuffle=shuffle, seed=seed
        )
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, collate_fn=collate
    )


def tabular_param_groups(model: TabularNet, config: TabularClassifierConfig) -> list[dict[str, Any]]:
    t = config.training
    decay = [p for n, p in model.named_parameters() if n.endswith("weight")]
    no_decay = [p for n, p in model.named_parameters() if not n.endswith("weight")]
    return [
        {"params": decay, "lr": t.learning_rate, "weight_decay": t.weight_decay},
        {"params": no_decay, "lr": t.learning_rate, "weight_decay": 0.0},
    ]
