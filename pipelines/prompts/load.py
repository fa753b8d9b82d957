"""Build Assistants: from a registered version (what `aip serve` serves) or from the working tree.

The environment decides the parts around the template (platform.yaml): the generator (the local
SmolLM2, or an OpenAI-compatible endpoint) and the vector store (the FAISS index of the documents
dataset, or Milvus). A registered version is served only with the index it was evaluated on.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pipelines.config import PromptConfig, load_prompt
from pipelines.prompts.assistant import Assistant
from pipelines.prompts.errors import PromptError
from pipelines.prompts.registry import Registered, alias_version

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.repo.layout import Repo


def prompt_file(repo: Repo, name: str) -> PromptConfig:
    path = repo.root / "prompts" / name / "prompt.yaml"
    if not path.is_file():
        known = ", ".join(repo.prompt_names()) or "none"
        raise PromptError(f"no prompt '{name}': {path} does not exist (prompts/ has: {known})")
    return load_prompt(path)


def templates_of(repo: Repo, config: PromptConfig) -> tuple[str, str]:
    folder = repo.root / "prompts" / config.name
    return (folder / config.template.system).read_text(), (folder / config.template.user).read_text()


def assistant(
    repo: Repo,
    env: str,
    config: PromptConfig,
    system: str,
    user: str,
    *,
    version: str,
    label: str,
    index_version: str | None = None,
    strict_index: bool = True,
) -> Assistant:
    """An Assistant with the environment's generator and vector store. `index_version`: the index the
    version was evaluated on; another one in the store is an error (`strict_index`) or a warning."""
    from pipelines.generate import open_generator
    from pipelines.vectors import Retriever, embedder, open_store

    _, settings = repo.environment(env)
    store = open_store(repo, config.retrieval.dataset, settings.vector_store, settings.milvus_uri)
    if index_version is not None and store.manifest.version != index_version:
        message = (
            f"{config.name} v{version} was evaluated on index {index_version[:12]} of "
            f"{config.retrieval.dataset}; the {settings.vector_store} store has {store.manifest.version[:12]}"
        )
        if strict_index:
            raise PromptError(
                f"{message}. Build or sync that index version (aip data prepare {config.retrieval.dataset}; "
                f"aip vectors sync {config.retrieval.dataset} --env {env})"
            )
        from pipelines.observability import logs

        logs.progress(f"warning: {message}: answering from the store's index")
    retriever = Retriever(store, embedder(config.retrieval.embedding_model))
    api_key = os.environ.get(settings.generator_api_key_env) if settings.generator_api_key_env else None
    generator = open_generator(
        config.generator.model, settings.generator_endpoint, settings.generator_model, api_key
    )
    return Assistant(
        config,
        system,
        user,
        version=version,
        label=label,
        retriever=retriever,
        generator=generator,
        backend=settings.vector_store,
    )


def from_files(repo: Repo, name: str, env: str) -> Assistant:
    """The working tree's prompt (version "dev"): for `aip prompts answer` and evaluation."""
    config = prompt_file(repo, name)
    system, user = templates_of(repo, config)
    return assistant(repo, env, config, system, user, version="dev", label="")


def from_registered(
    repo: Repo, env: str, registered: Registered, label: str, *, strict_index: bool = True
) -> Assistant:
    config = PromptConfig.model_validate(registered.config, strict=False)
    return assistant(
        repo,
        env,
        config,
        registered.system,
        registered.user,
        version=registered.version,
        label=label,
        index_version=registered.index_version,
        strict_index=strict_index,
    )


def load_assistants(repo: Repo, env: str, *, client: MlflowClient | None = None) -> dict[str, Assistant]:
    """Every prompt of the repository whose @env alias exists in the registry, as registered."""
    if client is None:
        from pipelines.registry.tracking import connect

        client = connect(repo, env)
    # Milvus keeps a collection per index version, so a version is served with exactly its index;
    # a FAISS index is the one DVC checked out, and a mismatch there is a warning.
    strict = repo.environment(env)[1].vector_store == "milvus"
    served = {}
    for name in repo.prompt_names():
        registered = alias_version(client, name, env)
        if registered is not None:
            served[name] = from_registered(repo, env, registered, env, strict_index=strict)
    return served
