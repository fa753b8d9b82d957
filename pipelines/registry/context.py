"""The registry session every step needs: the repo, the environment and a registry connection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.offline import apply_offline_env
from pipelines.registry.store import Registry
from pipelines.registry.tracking import connect
from pipelines.repo.layout import Repo

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient


@dataclass
class Context:
    repo: Repo
    env: str
    client: MlflowClient
    registry: Registry

    @classmethod
    def open(cls, repo: Repo, env: str | None = None) -> Context:
        apply_offline_env()
        env_name, _ = repo.environment(env)
        client = connect(repo, env_name)
        return cls(repo=repo, env=env_name, client=client, registry=Registry(client))

    def work_dir(self, model: str, fingerprint_short: str) -> Path:
        """Scratch space for one fingerprint's artifacts (git-ignored)."""
        path = self.repo.state_dir / "work" / model / fingerprint_short
        path.mkdir(parents=True, exist_ok=True)
        return path

    def report_dir(self, model: str) -> Path:
        """Where the latest evaluation report of a model in this environment is written for CI."""
        path = self.repo.state_dir / "reports" / self.env / model
        path.mkdir(parents=True, exist_ok=True)
        return path
