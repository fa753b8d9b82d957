"""Deterministic, class-balanced-ish row caps for smoke runs (`training.max_train_samples`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["subsample"]


def subsample(df: pd.DataFrame, label_column: str, n: int | None, seed: int) -> pd.DataFrame:
    """At most `n` rows, each class keeping about its share (at least one row), same rows per seed.

    The original row order is kept, so the result does not depend on how the caller shuffles.
    """
    import numpy as np

    if n is None or n >= len(df):
        return df
    rng = np.random.default_rng(seed)
    labels = df[label_column].to_numpy()
    chosen: list[int] = []
    for label in sorted(set(labels.tolist())):
        positions = np.flatnonzero(labels == label)
        quota = max(1, round(n * len(positions) / len(df)))
        chosen.extend(rng.permutation(positions)[:quota].tolist())
    if len(chosen) > n:  # rounding up and the one-per-class floor can overshoot
        chosen = rng.permutation(np.array(chosen))[:n].tolist()
    return df.iloc[sorted(chosen)]
