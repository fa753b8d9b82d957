"""The tumour classifier as production trains it: version 1 of the session's trained registry.

`aip run` trained it with the repo's real config on the splits its split stage wrote (`split_frame`),
so the behavioural tests see the same model and the same test split as production.
"""

from __future__ import annotations

import pytest

from tests.support.registry import TrainedRegistry, TrainedTumorModel
from tests.support.registry import tumor_model as load_tumor_model


@pytest.fixture(scope="session")
def tumor_model(trained_registry: TrainedRegistry) -> TrainedTumorModel:
    return load_tumor_model(trained_registry.checked_root())
