"""Prompts as files: render, answer with retrieval and citations, evaluate, register, serve.

`prompts/<name>/prompt.yaml` (pipelines/config/prompt.py) names the templates, generation
parameters, the documents dataset it retrieves from, limits, gates and cases. An `Assistant` answers
chat requests with it (what `aip serve` exposes at /v1/chat/completions); `run_prompt` evaluates a
prompt and registers its fingerprint in MLflow's prompt registry with the environment as alias.
Heavy libraries (mlflow, torch, faiss) load inside the functions that need them. docs/prompts.md.
"""

from pipelines.prompts.assistant import REFUSAL, Answer, AnswerEvent, Assistant
from pipelines.prompts.errors import PromptError, PromptGateFailed, RequestTooLarge
from pipelines.prompts.load import from_files, from_registered, load_assistants, prompt_file

__all__ = [
    "REFUSAL",
    "Answer",
    "AnswerEvent",
    "Assistant",
    "PromptError",
    "PromptGateFailed",
    "RequestTooLarge",
    "from_files",
    "from_registered",
    "load_assistants",
    "prompt_file",
]
