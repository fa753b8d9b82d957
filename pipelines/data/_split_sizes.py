"""How many rows of a group go to test and validation: shared by the pandas and Dask split paths,
which must cut every group identically (their outputs are byte-identical)."""

from __future__ import annotations

__all__ = ["group_sizes"]


def group_sizes(n: int, test: float, validation: float) -> tuple[int, int]:
    """Rows of a group for test and validation: half-up rounding, at least one each when n >= 3."""
    n_test = int(n * test + 0.5)
    n_validation = int(n * validation + 0.5)
    if n >= 3:
        n_test, n_validation = max(n_test, 1), max(n_validation, 1)
    n_test = min(n_test, n)
    n_validation = min(n_validation, n - n_test)
    return n_test, n_validation
