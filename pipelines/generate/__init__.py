"""Text generation behind one interface: the local SmolLM2 or any OpenAI-compatible endpoint.

    gen = open_generator("smollm2-135m-instruct", endpoint=None, endpoint_model=None, api_key=None)
    gen.complete([{"role": "user", "content": "Hi"}], GenerationParams(max_tokens=32)).text

Heavy imports (torch, transformers) happen when a LocalGenerator is created, not here.
See docs/generation.md and docs/adr/0020-local-llm-runtime.md.
"""

from __future__ import annotations

from pipelines.generate.errors import GenerationRequestError, GeneratorError, GeneratorUnavailable
from pipelines.generate.factory import open_generator
from pipelines.generate.interface import Completion, GenerationParams, Generator, StreamEvent
from pipelines.generate.local import LOCAL_MODELS, LocalGenerator
from pipelines.generate.openai_client import OpenAIGenerator

__all__ = [
    "LOCAL_MODELS",
    "Completion",
    "GenerationParams",
    "GenerationRequestError",
    "Generator",
    "GeneratorError",
    "GeneratorUnavailable",
    "LocalGenerator",
    "OpenAIGenerator",
    "StreamEvent",
    "open_generator",
]
