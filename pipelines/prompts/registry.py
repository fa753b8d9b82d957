"""Prompt versions in MLflow's prompt registry, keyed by fingerprint; environments are aliases.

As with models (docs/adr/0002): a fingerprint is registered once; an environment is an alias that
moves onto a version after it passed its gates. Each version carries, as tags, everything needed to
serve it exactly as evaluated: the prompt's config (`aip.config`, JSON), the fingerprint and its
parts, the index version, and the evaluation's metrics and gate results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import PromptVersion

    from pipelines.config import PromptConfig
    from pipelines.registry.fingerprint import Fingerprint

FINGERPRINT_TAG = "aip.fingerprint"
CONFIG_TAG = "aip.config"
INDEX_TAG = "aip.index_version"
METRIC_PREFIX = "aip.metric."
GATE_PREFIX = "aip.gate."
RUN_TAG = "aip.evaluation_run"


@dataclass(frozen=True)
class Registered:
    """A registered prompt version, as much of it as serving and comparisons need."""

    name: str
    version: str
    config: dict[str, Any]
    system: str
    user: str
    index_version: str
    metrics: dict[str, float]
    aliases: list[str]


def _registered(version: PromptVersion) -> Registered:
    template = (
        version.template
        if isinstance(version.template, list)
        else [{"role": "user", "content": version.template}]
    )
    messages = {m["role"]: m["content"] for m in template}
    tags = version.tags or {}
    return Registered(
        name=version.name,
        version=str(version.version),
        config=json.loads(tags.get(CONFIG_TAG, "{}")),
        system=messages.get("system", ""),
        user=messages.get("user", ""),
        index_version=tags.get(INDEX_TAG, ""),
        metrics={
            k.removeprefix(METRIC_PREFIX): float(v) for k, v in tags.items() if k.startswith(METRIC_PREFIX)
        },
        aliases=list(version.aliases or []),
    )


def version_for(client: MlflowClient, name: str, fingerprint: str) -> Registered | None:
    """The version registered for `fingerprint`, if any."""
    if client.get_prompt(name) is None:
        return None
    for version in client.search_prompt_versions(name):
        if (version.tags or {}).get(FINGERPRINT_TAG) == fingerprint:
            return _registered(version)
    return None


def get_version(client: MlflowClient, name: str, version: str) -> Registered | None:
    if client.get_prompt(name) is None:
        return None
    found = client.get_prompt_version(name, version)
    return _registered(found) if found is not None else None


def alias_version(client: MlflowClient, name: str, alias: str) -> Registered | None:
    """The version holding `alias` (an environment), or None."""
    from mlflow.exceptions import MlflowException

    if client.get_prompt(name) is None:
        return None
    try:
        return _registered(client.get_prompt_version_by_alias(name, alias))
    except MlflowException:
        return None


def register(
    client: MlflowClient,
    config: PromptConfig,
    system: str,
    user: str,
    fingerprint: Fingerprint,
    *,
    metrics: dict[str, float],
    gates: dict[str, str],
    run_id: str,
    commit: str,
) -> Registered:
    """A new prompt version (the caller checked `version_for` first)."""
    tags = {
        FINGERPRINT_TAG: fingerprint.digest,
        INDEX_TAG: fingerprint.parts["index"],
        CONFIG_TAG: json.dumps(config.model_dump(mode="json", by_alias=True), sort_keys=True),
        RUN_TAG: run_id,
        "aip.commit": commit,
        **{f"aip.fingerprint.{k}": v for k, v in fingerprint.parts.items()},
        **{f"{METRIC_PREFIX}{k}": f"{v:.6g}" for k, v in metrics.items()},
        **{f"{GATE_PREFIX}{k}": v for k, v in gates.items()},
    }
    generation = config.generator
    version = client.register_prompt(
        config.name,
        template=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        commit_message=f"fingerprint {fingerprint.short} at {commit[:12] or 'a working tree'}",
        tags=tags,
        model_config={
            "model_name": generation.model,
            "temperature": generation.temperature,
            "top_p": generation.top_p,
            "max_tokens": generation.max_tokens,
            "stop_sequences": list(generation.stop),
        },
    )
    return _registered(version)


def set_alias(client: MlflowClient, name: str, alias: str, version: str) -> str | None:
    """Move `alias` onto `version`; returns the version that held it before (None: first)."""
    previous = alias_version(client, name, alias)
    client.set_prompt_alias(name, alias, int(version))
    return previous.version if previous else None
