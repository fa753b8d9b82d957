"""Where things live in the repository, and finding its root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pipelines.config import (
    AnyModelConfig,
    DatasetConfig,
    Environment,
    PlatformConfig,
    load_dataset,
    load_model,
    load_platform,
)
from pipelines.errors import AipError


class RepoNotFound(AipError):
    """No platform.yaml in the working directory or above it."""


class UnknownEnvironment(AipError):
    """An environment name that platform.yaml does not define."""


def find_root(start: Path | None = None) -> Path:
    """The folder holding platform.yaml: $AIP_REPO, else the nearest one upwards from `start`."""
    if env := os.environ.get("AIP_REPO"):
        root = Path(env).resolve()
        if not (root / "platform.yaml").is_file():
            raise RepoNotFound(f"AIP_REPO={env} has no platform.yaml")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "platform.yaml").is_file():
            return folder
    raise RepoNotFound(f"no platform.yaml in {here} or any folder above it")


@dataclass(frozen=True)
class Repo:
    """One checkout of the platform: paths, and its configs loaded on first use."""

    root: Path

    @classmethod
    def discover(cls, start: Path | None = None) -> Repo:
        return cls(find_root(start))

    # ---- paths -------------------------------------------------------------------------
    @property
    def platform_file(self) -> Path:
        return self.root / "platform.yaml"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def datasets_dir(self) -> Path:
        return self.root / "datasets"

    @property
    def schemas_dir(self) -> Path:
        return self.root / "schemas"

    def model_dir(self, name: str) -> Path:
        return self.models_dir / name

    def dataset_dir(self, name: str) -> Path:
        return self.datasets_dir / name

    @cached_property
    def state_dir(self) -> Path:
        """Git-ignored local state (MLflow SQLite, DVC remote, reports)."""
        path = self.resolve(self.platform.state_dir)
        return Path(path)

    def resolve(self, location: str) -> str:
        """A relative folder or sqlite path in platform.yaml is relative to the repo root."""
        if location.startswith("sqlite:///"):
            path = location.removeprefix("sqlite:///")
            return "sqlite:///" + str(self.root / path) if not path.startswith("/") else location
        if "://" in location:
            return location
        return str(self.root / location)

    # ---- discovery ---------------------------------------------------------------------
    def model_names(self) -> list[str]:
        return sorted(p.parent.name for p in self.models_dir.glob("*/model.yaml"))

    def dataset_names(self) -> list[str]:
        return sorted(p.parent.name for p in self.datasets_dir.glob("*/dataset.yaml"))

    @property
    def prompts_dir(self) -> Path:
        return self.root / "prompts"

    def prompt_dir(self, name: str) -> Path:
        return self.prompts_dir / name

    def prompt_names(self) -> list[str]:
        return sorted(p.parent.name for p in self.prompts_dir.glob("*/prompt.yaml"))

    def dashboard_names(self) -> list[str]:
        return sorted(
            p.name.removesuffix(".dashboard.py") for p in (self.root / "dashboards").glob("*.dashboard.py")
        )

    def infra_roots(self) -> list[str]:
        """Terraform roots that are applied on their own (infra/envs/<env>, infra/bootstrap ...)."""
        envs = self.root / "infra" / "envs"
        return sorted(str(p.relative_to(self.root)) for p in envs.glob("*/") if p.is_dir())

    # ---- configs -----------------------------------------------------------------------
    @cached_property
    def platform(self) -> PlatformConfig:
        return load_platform(self.platform_file)

    def model(self, name: str) -> AnyModelConfig:
        return load_model(self.model_dir(name) / "model.yaml")

    def dataset(self, name: str) -> DatasetConfig:
        return load_dataset(self.dataset_dir(name) / "dataset.yaml")

    def environment(self, name: str | None = None) -> tuple[str, Environment]:
        """(name, settings) of an environment; the platform's default when name is None."""
        env_name = name or self.platform.default_environment
        try:
            return env_name, self.platform.environments[env_name]
        except KeyError:
            allowed = ", ".join(self.platform.environments)
            raise UnknownEnvironment(
                f"unknown environment '{env_name}' (platform.yaml has: {allowed})"
            ) from None
