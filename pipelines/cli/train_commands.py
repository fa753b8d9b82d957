"""`aip train`'s distributed-training options (docs/distributed-training.md).

Each flag overrides the same key of model.yaml's `environments.<env>.training`; a flag left out keeps
the file's value (default: one process, no accumulation, a checkpoint every 200 optimiser steps).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_distributed_options", "launch_overrides"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text}")
    return value


def add_distributed_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("distributed training (torchrun; overrides environments.<env>.training)")
    g.add_argument("--nproc-per-node", type=_positive, metavar="N", help="worker processes on this machine")
    g.add_argument(
        "--nnodes", type=_positive, metavar="M", help="machines in the job (needs --rdzv-endpoint)"
    )
    g.add_argument("--node-rank", type=int, metavar="R", help="this machine's rank, 0..M-1 (node 0 logs)")
    g.add_argument("--rdzv-endpoint", metavar="HOST:PORT", help="node 0's rendezvous address")
    g.add_argument(
        "--rdzv-timeout",
        type=_positive,
        metavar="SECONDS",
        help="give up waiting for the other workers after this",
    )
    g.add_argument("--grad-accum", type=_positive, metavar="K", help="micro-batches per optimiser step")
    g.add_argument("--lr-scaling", choices=["none", "linear", "sqrt"], help="learning rate vs global batch")
    g.add_argument(
        "--checkpoint-every", type=int, metavar="STEPS", help="optimiser steps between checkpoints (0: none)"
    )
    g.add_argument(
        "--no-resume",
        action="store_true",
        help="start a new run even if an unfinished run of this fingerprint has a checkpoint",
    )


def launch_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The LaunchPlan fields the flags set (None: not given)."""
    return {
        "nproc_per_node": args.nproc_per_node,
        "nnodes": args.nnodes,
        "node_rank": args.node_rank,
        "rdzv_endpoint": args.rdzv_endpoint,
        "rdzv_timeout_seconds": args.rdzv_timeout,
        "gradient_accumulation_steps": args.grad_accum,
        "lr_scaling": args.lr_scaling,
        "checkpoint_every_steps": args.checkpoint_every,
    }
