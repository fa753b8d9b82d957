"""The local model, loaded once for every generate test (transformers GGUF, ~10 s on 2 cores)."""

from __future__ import annotations

import pytest

from pipelines.generate import LocalGenerator


@pytest.fixture(scope="session")
def local() -> LocalGenerator:
    return LocalGenerator("smollm2-135m-instruct")
