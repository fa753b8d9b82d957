"""The two torch networks an artifact holds (training builds them, loading rebuilds them). Imports
torch: import this module lazily."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["TabularNet", "TextNet", "mean_pool"]


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors that are not padding (what sentence-transformers trained with)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1e-9)
    return summed / counts


class TextNet(nn.Module):
    """A transformers encoder, attention-masked mean pooling, dropout and a linear head."""

    encoder: Any  # a transformers PreTrainedModel (BertModel for MiniLM)

    def __init__(self, encoder: nn.Module, hidden_size: int, n_classes: int, dropout: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, n_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **extra: Any) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra)
        pooled = mean_pool(out.last_hidden_state, attention_mask)
        logits: torch.Tensor = self.head(self.dropout(pooled))
        return logits


class TabularNet(nn.Module):
    """Standardise (fixed mean/std from the training split) -> MLP (ReLU, dropout) -> logits.

    mean/std are non-persistent buffers: the manifest holds them, the state dict does not.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        mean: Sequence[float],
        std: Sequence[float],
        hidden_sizes: Sequence[int],
        n_classes: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32), persistent=False)
        layers: list[nn.Module] = []
        width = len(mean)
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, n_classes))
        self.mlp = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.mlp((features - self.mean) / self.std)
        return logits
