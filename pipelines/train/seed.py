"""Seed every random number generator a training run touches, and ask for deterministic kernels."""

from __future__ import annotations

import os
import random

__all__ = ["seed_everything"]


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA); prefer deterministic algorithms.

    Same seed, same data, same machine -> identical weights. On CUDA, cuBLAS needs a fixed
    workspace for that, set here unless the caller already chose one.
    """
    import numpy as np
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    # warn_only: an op without a deterministic kernel warns instead of failing the run
    torch.use_deterministic_algorithms(True, warn_only=True)
