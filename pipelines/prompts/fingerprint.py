"""A prompt's fingerprint: the hash of everything that determines what it sends and retrieves.

Same fingerprint, same prompt version: `aip run` evaluates and registers a fingerprint once in
MLflow's prompt registry, and later runs and environments move aliases onto that version. Parts:

- template:     the system and user template files
- parameters:   generation, retrieval and limits from prompt.yaml (not description, owner, gates or cases)
- index:        the version (content hash) of the index the prompt retrieves from
- model:        the generator model id
- answer_code:  the engine code between template and answer (pipelines/prompts/assistant.py, safety.py)

Gates and cases are left out, as a model's gates are: changing them re-evaluates the same version.
"""

from __future__ import annotations

from pipelines.config import PromptConfig
from pipelines.registry.fingerprint import Fingerprint, canonical_json, sha256_hex
from pipelines.repo.layout import Repo

ANSWER_CODE = (
    "pipelines/prompts/assistant.py",
    "pipelines/prompts/safety.py",
    "pipelines/config/prompt_template.py",
)


def compute(repo: Repo, config: PromptConfig, index_version: str) -> Fingerprint:
    folder = repo.root / "prompts" / config.name
    templates = {
        role: (folder / getattr(config.template, role)).read_bytes().replace(b"\r\n", b"\n").decode()
        for role in ("system", "user")
    }
    code = {path: (repo.root / path).read_bytes().replace(b"\r\n", b"\n").decode() for path in ANSWER_CODE}
    parts = {
        "template": sha256_hex(canonical_json(templates)),
        "parameters": sha256_hex(
            canonical_json(
                config.model_dump(
                    mode="json", include={"kind", "variables", "generator", "retrieval", "limits"}
                )
            )
        ),
        "index": index_version,
        "model": config.generator.model,
        "answer_code": sha256_hex(canonical_json(code)),
    }
    return Fingerprint(sha256_hex(canonical_json(parts)), parts)
