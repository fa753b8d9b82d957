"""The data-parallel side of training: who this process is, and how batches are split between ranks.

torchrun (`python -m torch.distributed.run`, see pipelines/train/launch.py) starts the processes and
sets RANK / WORLD_SIZE / LOCAL_RANK; `Distributed.from_env()` reads them and joins the process group
(NCCL on CUDA, Gloo on CPU). A single process has no `Distributed` at all: the one-process path of
pipelines/train/loop.py is untouched by anything here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

__all__ = ["Distributed", "ShardedBatches", "lr_factor"]


@dataclass(frozen=True)
class Distributed:
    """This process's place in a torchrun job."""

    rank: int
    """Global rank; rank 0 logs to MLflow, writes checkpoints and the artifact."""
    world_size: int
    local_rank: int
    """Rank on this machine: the CUDA device index on GPU."""
    backend: str
    """`nccl` (CUDA) or `gloo` (CPU)."""

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, cuda: bool, timeout_seconds: int) -> Distributed:
        """Join the process group torchrun prepared (env:// rendezvous); one device per local rank."""
        import torch
        import torch.distributed as dist

        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        backend = "nccl" if cuda else "gloo"
        if cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout_seconds))
        return cls(rank, world, local_rank, backend)

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()

    def gather(self, value: Any) -> list[Any]:
        """Every rank's `value`, on every rank (small picklable objects: RNG states)."""
        import torch.distributed as dist

        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, value)
        return out

    def close(self) -> None:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def lr_factor(rule: Literal["none", "linear", "sqrt"], world_size: int, accumulation: int) -> float:
    """The learning-rate multiplier of `rule` for a global batch `world_size x accumulation` times
    model.yaml's batch_size: 1, k, or sqrt(k)."""
    k = world_size * accumulation
    return {"none": 1.0, "linear": float(k), "sqrt": math.sqrt(k)}[rule]


class ShardedBatches:
    """One rank's share of a batch sampler's batches: every rank sees the same number of batches.

    The inner sampler (seeded per epoch) orders the whole split identically on every rank; rank r
    takes batches r, r + world, ... The last round wraps around to the first batches so that no rank
    waits for an all-reduce another rank never joins (DistributedSampler pads the same way).
    """

    def __init__(self, inner: Any, rank: int, world_size: int) -> None:
        self.inner = inner
        self.rank = rank
        self.world_size = world_size

    @property
    def epoch(self) -> int:
        return int(self.inner.epoch)

    @epoch.setter
    def epoch(self, value: int) -> None:
        self.inner.epoch = value

    def __len__(self) -> int:
        return math.ceil(len(self.inner) / self.world_size)

    def __iter__(self) -> Iterator[list[int]]:
        batches = list(self.inner)
        total = len(self) * self.world_size
        for i in range(self.rank, total, self.world_size):
            yield batches[i % len(batches)]
