"""Load model versions from the MLflow registry (by alias or number) and hold the served models.

Weights come only from the aip artifact inside the registered MLflow model, through
`pipelines.artifacts.load` (safetensors; pickle is refused).
"""

from __future__ import annotations

import logging
import os
import random
import threading
from typing import TYPE_CHECKING, Any

from pipelines.registry.loader import LoadError, load_predictor
from pipelines.serving._entities import FeatureLookups
from pipelines.serving._logging import event
from pipelines.serving._models import LoadedVersion, ModelSlot, VersionStatus
from pipelines.serving.errors import Code, ServingError

if TYPE_CHECKING:
    from pipelines.artifacts import Predictor
    from pipelines.config.model import Batching
    from pipelines.registry.context import Context
    from pipelines.repo.layout import Repo
    from pipelines.serving._metrics import ServerMetrics

__all__ = ["LoadError", "ModelManager", "RegistryLoader"]


class RegistryLoader:
    """Reads the environment's MLflow registry; one load at a time (MLflow clients are not reentrant).

    Each loaded version runs on its model's configured runtime (model.yaml `serving.runtime`), or on
    `runtime` for every model when given (`aip serve --runtime`). On `device="cuda"` every model
    runs on torch with its weights on the GPU (the ONNX runtimes are CPU runtimes).
    """

    def __init__(self, ctx: Context, runtime: str | None = None, device: str = "cpu") -> None:
        self.ctx = ctx
        self.runtime = runtime
        self.device = device
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls, repo: Repo, env: str | None, runtime: str | None = None, device: str = "cpu"
    ) -> RegistryLoader:
        from pipelines.registry.context import Context

        return cls(Context.open(repo, env), runtime, device)

    def runtime_of(self, model: str) -> str:
        """The runtime `model` is served on: torch on a GPU, else --runtime or model.yaml's."""
        if self.device == "cuda":
            return "torch"
        return self.runtime or self.ctx.repo.model(model).environment(self.env).serving.runtime

    def versions(self, model: str) -> list[str]:
        """Every registered version number of `model`, ascending (empty when the model is absent)."""
        with self._lock:
            found = self.ctx.client.search_model_versions(f"name='{model}'")
        return sorted({str(v.version) for v in found}, key=int)

    @property
    def env(self) -> str:
        return self.ctx.env

    def alias_version(self, model: str) -> str | None:
        """The version the environment alias points at (None if the model or alias is absent)."""
        with self._lock:
            found = self.ctx.registry.alias_version(model, self.ctx.env)
        return str(found.version) if found is not None else None

    def load(self, model: str, version: str) -> Predictor:
        from mlflow.exceptions import MlflowException

        from pipelines.artifacts.runtime import with_runtime

        serving = self.ctx.repo.model(model).environment(self.env).serving
        runtime = self.runtime_of(model)
        device = self.device

        def prepare(predictor: Predictor) -> Predictor:
            prepared = with_runtime(predictor, runtime, threads=threads, cache_dir=cache)
            if device != "cpu":  # artifacts.load puts the weights on the CPU; torch runtime only here
                prepared.model.to(device)
                prepared.device = device
            return prepared

        # One forward pass per core: the batcher runs num_batch_threads of them at once.
        threads = max(1, (os.cpu_count() or 1) // serving.batching.num_batch_threads)
        cache = self.ctx.repo.state_dir / "cache" / "onnx"  # export once per weights
        with self._lock:
            try:
                self.ctx.client.get_model_version(model, version)
            except MlflowException as exc:
                raise LoadError(f"{model} version {version} is not in the registry: {exc.message}") from None
            try:
                return load_predictor(f"models:/{model}/{version}", prepare=prepare)
            except LoadError:
                raise
            except Exception as exc:  # a corrupt config or tokenizer: report it, keep serving
                raise LoadError(f"{model} version {version}: {type(exc).__name__}: {exc}") from None


class ModelManager:
    """The served models by name; loads versions into their slots."""

    def __init__(self, loader: RegistryLoader, metrics: ServerMetrics, seed: int | None = None) -> None:
        self.loader = loader
        self.metrics = metrics
        self.rng = random.Random(seed)
        self.slots: dict[str, ModelSlot] = {}
        self._feature_lookups: FeatureLookups | None = None  # made on the first load (_entities.py)

    def slot(self, name: str) -> ModelSlot:
        try:
            return self.slots[name]
        except KeyError:
            raise ServingError(Code.NOT_FOUND, f"Servable not found for request: Latest({name})") from None

    def add_model(self, name: str, settings: Batching, track: str = "stable") -> ModelSlot:
        slot = ModelSlot(name, settings, self.metrics, self.rng, track)
        self.slots[name] = slot
        return slot

    def _load(self, slot: ModelSlot, version: str) -> LoadedVersion:
        predictor = self.loader.load(slot.name, version)
        loaded = LoadedVersion(slot.name, version, predictor, slot.settings, self.metrics)
        if self._feature_lookups is None:
            self._feature_lookups = FeatureLookups(self.loader.ctx.repo, self.loader.env)
        loaded.features = self._feature_lookups.for_model(slot.name)  # None: no feature store
        return loaded

    def load_stable(self, name: str, version: str) -> None:
        slot = self.slots[name]
        with slot.lock:
            slot.status[version] = VersionStatus("LOADING")
        try:
            loaded = self._load(slot, version)
        except LoadError as exc:
            with slot.lock:
                slot.status[version] = VersionStatus("END", str(exc))
            raise
        slot.install(loaded, "stable")

    def _split_here(self, slot: ModelSlot) -> None:
        if slot.track != "stable":
            raise ServingError(
                Code.CONFLICT,
                f"this server is the {slot.track} track of {slot.name!r} (--label {slot.track}): it holds "
                "no traffic split; the gateway splits between the track servers",
            )

    def load_canary(self, name: str, version: Any) -> dict[str, Any]:
        """Load `version` as the canary at weight 0 (blocking); 422 if it cannot be loaded."""
        slot = self.slot(name)
        self._split_here(slot)
        if not isinstance(version, str | int) or isinstance(version, bool) or not str(version).isdigit():
            raise ServingError(Code.INVALID_ARGUMENT, 'body must be {"version": "<registry version number>"}')
        version = str(int(version))
        with slot.lock:
            if slot.canary is not None and slot.canary.version == version:
                return slot.state()
            if slot.canary is not None:
                raise ServingError(
                    Code.CONFLICT,
                    f"model {name!r} already has canary version {slot.canary.version}; "
                    "DELETE /v1/admin/models/{name}/canary first",
                )
            if slot.stable is not None and slot.stable.version == version:
                raise ServingError(Code.CONFLICT, f"version {version} of {name!r} is the stable version")
            if slot.loading is not None:
                raise ServingError(Code.CONFLICT, f"version {slot.loading} of {name!r} is loading already")
            slot.loading = version
            slot.status[version] = VersionStatus("LOADING")
        event("canary_loading", model=name, version=version)
        try:
            loaded = self._load(slot, version)
        except LoadError as exc:
            with slot.lock:
                slot.status[version] = VersionStatus("END", str(exc))
                slot.loading = None
            event("canary_load_failed", logging.WARNING, model=name, version=version, error=str(exc))
            raise ServingError(Code.UNPROCESSABLE, str(exc)) from None
        with slot.lock:
            slot.loading = None
            slot.install(loaded, "canary")
        event("canary_loaded", model=name, version=version)
        return slot.state()

    def load_baseline(self, name: str) -> dict[str, Any]:
        """Load a fresh instance of the stable version as the baseline at weight 0 (blocking).

        A fresh instance, not the running stable: the canary is freshly loaded too, so both start
        cold and get the same share of traffic (docs/deploy.md, "Baseline")."""
        slot = self.slot(name)
        self._split_here(slot)
        with slot.lock:
            if slot.stable is None:
                raise ServingError(Code.CONFLICT, f"model {name!r} has no stable version to copy")
            version = slot.stable.version
            if slot.baseline is not None and slot.baseline.version == version:
                return slot.state()
        event("baseline_loading", model=name, version=version)
        try:
            loaded = self._load(slot, version)
        except LoadError as exc:
            event("baseline_load_failed", logging.WARNING, model=name, version=version, error=str(exc))
            raise ServingError(Code.UNPROCESSABLE, str(exc)) from None
        with slot.lock:
            if slot.stable is None or slot.stable.version != version:  # promoted meanwhile
                raise ServingError(Code.CONFLICT, f"the stable version of {name!r} changed while loading")
            slot.install(loaded, "baseline")
        event("baseline_loaded", model=name, version=version)
        return slot.state()

    def ready(self) -> tuple[bool, list[str]]:
        """Ready when every served model's stable version is AVAILABLE; else the reasons."""
        waiting = []
        for name, slot in self.slots.items():
            with slot.lock:
                if slot.stable is None or slot.status[slot.stable.version].state != "AVAILABLE":
                    waiting.append(f"{name}: no {slot.track} version available")
        return not waiting and bool(self.slots), waiting

    def close(self) -> None:
        for slot in self.slots.values():
            slot.close()
