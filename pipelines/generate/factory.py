"""The generator an environment uses: its OpenAI-compatible endpoint, or the local model."""

from __future__ import annotations

import functools

from pipelines.generate.interface import Generator
from pipelines.generate.local import LocalGenerator
from pipelines.generate.openai_client import OpenAIGenerator

__all__ = ["DEFAULT_TIMEOUT_S", "open_generator"]

DEFAULT_TIMEOUT_S = 60.0  # per socket wait: a long prompt on a busy vLLM can take seconds to its first token


@functools.cache
def open_generator(
    model_id: str, endpoint: str | None = None, endpoint_model: str | None = None, api_key: str | None = None
) -> Generator:
    """The generator for platform.yaml's `generator_endpoint` (None = the local model `model_id`).

    endpoint_model is the name sent to the endpoint (None = model_id); api_key its bearer token.
    Cached: one generator per arguments per process (the local model loads once).
    """
    if endpoint is None:
        return LocalGenerator(model_id)
    return OpenAIGenerator(endpoint, endpoint_model or model_id, api_key, timeout_s=DEFAULT_TIMEOUT_S)
