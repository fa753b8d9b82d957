"""Ingest scikit-learn's bundled Wisconsin diagnostic breast-cancer table.

This is the dataset's own code, run by the DVC `ingest` stage (`aip data ingest breast-cancer`). It reads
the copy shipped inside scikit-learn (`load_breast_cancer`, offline), the way a fork's stage reads its
own source: 569 tumours, 30 real-valued cell-nucleus measurements (columns keep sklearn's names, e.g.
`mean radius`), and the diagnosis as a readable label, `benign` or `malignant` (sklearn's target is
0 = malignant, 1 = benign; names survive a re-encoding upstream, integers do not).
Duplicate rows are dropped and rows sorted, so the CSV, hence its md5, is the same on every run.

Two key columns, last, serve the Feast feature store (features/, docs/features.md): `tumour_id`, the
row's 1-based position in scikit-learn's copy (the source's own order, so an id never changes when
our sort does), and `event_timestamp`, when the measurements became known: the UCI donation date for
every row, a constant, so the bytes stay stable (a fork's source gives each row its own time). They
come after the label, so the split's sort, hence which tumour lands in which split, is unchanged.
"""

from __future__ import annotations

import pandas as pd

PUBLISHED = "1995-11-01T00:00:00Z"  # the Wisconsin set's donation to the UCI repository (ISO 8601, UTC)


def ingest() -> pd.DataFrame:
    """Return the 30 feature columns in sklearn's order, then `label`, `tumour_id`, `event_timestamp`."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data.copy()
    names = list(bunch.target_names)  # ['malignant', 'benign'], indexed by the integer target
    frame["label"] = [names[int(code)] for code in bunch.target]
    frame["tumour_id"] = range(1, len(frame) + 1)
    frame["event_timestamp"] = PUBLISHED
    frame = frame.drop_duplicates(subset=[c for c in frame.columns if c != "tumour_id"])
    return frame.sort_values(list(frame.columns), kind="mergesort").reset_index(drop=True)
