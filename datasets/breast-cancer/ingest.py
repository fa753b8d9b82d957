"""Ingest scikit-learn's bundled Wisconsin diagnostic breast-cancer table.

This is the dataset's own code, run by the DVC `ingest` stage (`aip data ingest breast-cancer`). It reads
the copy shipped inside scikit-learn (`load_breast_cancer`, offline), the way a fork's stage reads its
own source: 569 tumours, 30 real-valued cell-nucleus measurements (columns keep sklearn's names, e.g.
`mean radius`), and the diagnosis as a readable label, `benign` or `malignant` (sklearn's target is
0 = malignant, 1 = benign; names survive a re-encoding upstream, integers do not).
Duplicate rows are dropped and rows sorted, so the CSV, hence its md5, is the same on every run.
"""

from __future__ import annotations

import pandas as pd


def ingest() -> pd.DataFrame:
    """Return the 30 feature columns in sklearn's order, then `label`."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data.copy()
    names = list(bunch.target_names)  # ['malignant', 'benign'], indexed by the integer target
    frame["label"] = [names[int(code)] for code in bunch.target]
    frame = frame.drop_duplicates()
    return frame.sort_values(list(frame.columns), kind="mergesort").reset_index(drop=True)
