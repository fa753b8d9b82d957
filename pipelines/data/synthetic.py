"""A larger synthetic variant of the breast-cancer table, generated (never committed) for scale tests.

`aip`'s bundled tabular dataset has 569 rows: too few to show when a Dask cluster pays for itself. This
resamples its rows with replacement and adds seeded Gaussian noise (2% of each column's spread), so
any number of rows keeps the real columns, label balance and value ranges; values are rounded to 4
decimals so the CSV stays compact and prints exactly. Same `rows` and `seed`, same frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

NOISE = 0.02  # of each feature's standard deviation: new rows, same distribution


def breast_cancer_rows(rows: int, seed: int = 0) -> pd.DataFrame:
    """`rows` synthetic tumours: sklearn's 30 feature columns (same names) then `label`."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_breast_cancer

    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    bunch = load_breast_cancer(as_frame=True)
    features = bunch.data.to_numpy(dtype=np.float64)
    names = np.array(list(bunch.target_names))[bunch.target.to_numpy()]
    rng = np.random.RandomState(seed)
    picked = rng.randint(0, len(features), size=rows)
    noise = rng.standard_normal((rows, features.shape[1])) * (features.std(axis=0) * NOISE)
    values = np.round(np.abs(features[picked] + noise), 4)
    frame = pd.DataFrame(values, columns=list(bunch.data.columns))
    frame["label"] = names[picked]
    return frame
