"""Import shap once, quietly: its colour maps call a matplotlib API that warns about its own future
deprecation at import time (shap 0.51 on matplotlib 3.10), which nothing here can act on."""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["shap"]


def shap() -> Any:
    """The shap module (3 s to import with numba: only explanation paths pay for it)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"The set_(bad|over|under) function will be deprecated",
            category=PendingDeprecationWarning,
        )
        import shap as module
    return module
