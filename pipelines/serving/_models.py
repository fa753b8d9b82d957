"""Loaded versions and the per-model slot: stable, canary and baseline labels, traffic weights,
faults, samples.

The baseline is a second, fresh instance of the stable version that a canary deploy loads beside the
canary and gives the same share of traffic, so the analysis compares two tracks under the same
conditions (docs/deploy.md). It shares the stable's version number but not its batcher or samples.

A request *leases* the version it is routed to and releases it when answered; a version that is
replaced (promotion, rollback) is unloaded only once its last lease is released, so promotion and
rollback drop no request.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.serving._batching import Batcher, BatcherClosed
from pipelines.serving.contract import LABELS
from pipelines.serving.errors import Code, ServingError

if TYPE_CHECKING:
    from pipelines.artifacts import Predictor
    from pipelines.config.model import Batching
    from pipelines.serving._metrics import ServerMetrics

__all__ = ["LABELS", "Fault", "LoadedVersion", "ModelSlot", "SampleBuffer"]

SAMPLES_PER_LABEL = 50_000  # ring buffer per model and label: minutes of traffic at a few hundred rps


class LoadedVersion:
    """One model version in memory with its batcher."""

    def __init__(
        self, model: str, version: str, predictor: Predictor, settings: Batching, metrics: ServerMetrics
    ) -> None:
        self.model = model
        self.version = version
        self.predictor = predictor
        self.kind = predictor.kind
        self.labels = predictor.labels
        self.feature_names = predictor.feature_names
        self.max_length = predictor.max_length
        # Future of the online feature lookup when the model's dataset has a feature store (_entities.py)
        self.features: Future[Any] | None = None
        self._leases = 0
        self._idle = threading.Condition()
        self.batcher = Batcher(
            f"{model}/{version}",
            self._forward,
            settings,
            on_batch=lambda rows: metrics.batch(model, version, rows),
            on_depth=lambda rows: metrics.queue_depth(model, version, rows),
        )

    def _forward(self, payloads: Sequence[Any]) -> list[np.ndarray]:
        sizes = [len(p) for p in payloads]
        if self.kind == "text":
            proba = self.predictor.predict_proba([t for p in payloads for t in p])
        else:
            import pandas as pd

            matrix = np.concatenate(payloads) if len(payloads) > 1 else payloads[0]
            proba = self.predictor.predict_proba(pd.DataFrame(matrix, columns=self.feature_names))
        return np.split(proba, np.cumsum(sizes)[:-1])

    def lease(self) -> None:
        with self._idle:
            self._leases += 1

    def release(self) -> None:
        with self._idle:
            self._leases -= 1
            if self._leases == 0:
                self._idle.notify_all()

    def unload(self, timeout: float = 60.0) -> None:
        """Wait for the last lease (requests routed here), drain the queue, stop the workers."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._leases > 0 and (remaining := deadline - time.monotonic()) > 0:
                self._idle.wait(remaining)
        self.batcher.close(wait=True, timeout=max(1.0, deadline - time.monotonic()))


@dataclass
class Fault:
    """Istio-style fault injection for one label: 500s, 400s to valid input, 429s (load shed), delay."""

    error_rate: float = 0.0
    extra_latency_ms: float = 0.0
    client_error_rate: float = 0.0
    shed_rate: float = 0.0

    def draw(self, rng: random.Random) -> Code | None:
        """The status this request is failed with, or None to serve it."""
        r = rng.random()
        for code, share in (
            (Code.INTERNAL, self.error_rate),
            (Code.INVALID_ARGUMENT, self.client_error_rate),
            (Code.RESOURCE_EXHAUSTED, self.shed_rate),
        ):
            if r < share:
                return code
            r -= share
        return None

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class SampleBuffer:
    """The last SAMPLES_PER_LABEL request records of one label, oldest first."""

    def __init__(self, size: int = SAMPLES_PER_LABEL) -> None:
        self._records: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._records.append(record)

    def since(self, ts: float) -> list[dict[str, Any]]:
        with self._lock:
            newer: list[dict[str, Any]] = []
            for record in reversed(self._records):
                if record["ts"] <= ts:
                    break
                newer.append(record)
        newer.reverse()
        return newer


@dataclass
class VersionStatus:
    state: str  # TF Serving's: LOADING, AVAILABLE, UNLOADING, END
    error: str = ""


class ModelSlot:
    """Everything the server holds for one model name.

    `track` is the label of the server's own (primary) version: `stable` for the usual server, which
    can also hold a canary and a baseline (the embedded split); `canary` or `baseline` for a server
    that *is* that track (`aip serve --label canary`, one Deployment per track on Kubernetes): its
    primary version then answers, and is counted, under that label, and no split is held.
    """

    def __init__(
        self,
        name: str,
        settings: Batching,
        metrics: ServerMetrics,
        rng: random.Random,
        track: str = "stable",
    ) -> None:
        if track not in LABELS:
            raise ValueError(f"track must be one of {LABELS}, got {track!r}")
        self.name = name
        self.track = track
        self.settings = settings
        self.metrics = metrics
        self.rng = rng
        self.lock = threading.RLock()
        self.stable: LoadedVersion | None = None
        self.canary: LoadedVersion | None = None
        self.baseline: LoadedVersion | None = None
        self.canary_weight = 0.0
        self.baseline_weight = 0.0
        self.faults: dict[str, Fault] = {}
        self.samples = {label: SampleBuffer() for label in LABELS}
        self.status: dict[str, VersionStatus] = {}
        self.loading: str | None = None
        self.explain: Any = None  # the :explain settings and limits (serving/_explain.py), by build_service

    # ---- routing -----------------------------------------------------------------------
    def route(self, version: str | None, label: str | None) -> tuple[LoadedVersion, str]:
        """The version a request goes to, and its label ('' for a number without a label); leased."""
        with self.lock:
            target, assigned = self._pick(version, label)
            target.lease()
            return target, assigned

    def _pick(self, version: str | None, label: str | None) -> tuple[LoadedVersion, str]:
        if label is not None:
            if label not in LABELS:
                raise ServingError(
                    Code.INVALID_ARGUMENT,
                    f"unknown version label {label!r} for model {self.name!r}; "
                    "labels are stable, canary, baseline",
                )
            target = self._held(label)
            if target is None:
                raise ServingError(
                    Code.INVALID_ARGUMENT, f"version label {label!r} of model {self.name!r} is not assigned"
                )
            return target, label
        if version is not None:
            if not version.isdigit():
                raise ServingError(Code.INVALID_ARGUMENT, f"version must be a number, got {version!r}")
            version = str(int(version))
            # A number names the stable or canary instance, never the baseline (its twin).
            for held, name in ((self.stable, self.track), (self.canary, "canary")):
                if held is not None and held.version == version:
                    return held, name
            status = self.status.get(version)
            if status is not None and status.state in ("LOADING", "UNLOADING"):
                raise ServingError(
                    Code.UNAVAILABLE, f"version {version} of model {self.name!r} is {status.state.lower()}"
                )
            raise ServingError(
                Code.NOT_FOUND, f"Servable not found for request: Specific({self.name}, {version})"
            )
        if self.stable is None:
            raise ServingError(Code.UNAVAILABLE, f"model {self.name!r} has no stable version loaded")
        r = self.rng.random()
        if self.canary is not None and r < self.canary_weight:
            return self.canary, "canary"
        if self.baseline is not None and r < self.canary_weight + self.baseline_weight:
            return self.baseline, "baseline"
        return self.stable, self.track

    def _held(self, label: str) -> LoadedVersion | None:
        """The version a label names: a track server's own label names its primary version."""
        if self.track != "stable":
            return self.stable if label == self.track else None
        return {"stable": self.stable, "canary": self.canary, "baseline": self.baseline}[label]

    def metric_label(self, position: str) -> str:
        """The label a held position (stable, canary, baseline) is exported under."""
        return self.track if position == "stable" else position

    def submit(self, target: LoadedVersion, payload: Any, rows: int) -> Future[Any]:
        try:
            return target.batcher.submit(payload, rows)
        except BatcherClosed:
            raise ServingError(
                Code.UNAVAILABLE, f"version {target.version} of model {self.name!r} is unloading; retry"
            ) from None

    def fault(self, label: str) -> Fault | None:
        return self.faults.get(label)

    def record(
        self, target: LoadedVersion, label: str, code: int, latency: float, classes: list[str] | None
    ) -> None:
        if label not in self.samples:
            return
        self.samples[label].add(
            {
                "ts": time.time(),
                "version": target.version,
                "label": label,
                "latency_seconds": latency,
                "ok": code == 200,
                "code": code,
                "predicted_class": classes[0] if classes else None,
                "predicted_classes": classes or [],
            }
        )

    # ---- state changes (the admin API) ---------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "model": self.name,
                "stable": self._version_state(self.stable),
                "canary": self._version_state(self.canary),
                "baseline": self._version_state(self.baseline),
                "canary_weight": self.canary_weight,
                "baseline_weight": self.baseline_weight,
            }

    def _version_state(self, held: LoadedVersion | None) -> dict[str, str] | None:
        if held is None:
            return None
        return {"version": held.version, "state": self.status[held.version].state}

    def install(self, loaded: LoadedVersion, label: str) -> None:
        """Make a freshly loaded version the stable, the canary or the baseline."""
        with self.lock:
            self.status[loaded.version] = VersionStatus("AVAILABLE")
            if label == "stable":
                old, self.stable = self.stable, loaded
            elif label == "canary":
                old, self.canary = self.canary, loaded
                self._set_weight(0.0, 0.0)
            else:
                old, self.baseline = self.baseline, loaded
                self._set_weight(self.canary_weight, 0.0)
            self.faults.pop(self.metric_label(label), None)
            self.metrics.loaded(self.name, loaded.version, self.metric_label(label), True)
        if old is not None:
            self._retire(old, label)

    def set_weight(self, weight: float, baseline_weight: float = 0.0) -> None:
        with self.lock:
            if self.canary is None:
                raise ServingError(Code.CONFLICT, f"model {self.name!r} has no canary; load one first")
            if baseline_weight > 0 and self.baseline is None:
                raise ServingError(Code.CONFLICT, f"model {self.name!r} has no baseline; load one first")
            if weight + baseline_weight > 1 + 1e-9:
                raise ServingError(
                    Code.INVALID_ARGUMENT,
                    f"canary_weight {weight} + baseline_weight {baseline_weight} exceed 1",
                )
            self._set_weight(weight, baseline_weight)

    def _set_weight(self, weight: float, baseline_weight: float = 0.0) -> None:
        self.canary_weight = weight
        self.baseline_weight = baseline_weight
        self.metrics.canary_weight(self.name, weight)

    def promote(self) -> None:
        with self.lock:
            if self.canary is None:
                raise ServingError(Code.CONFLICT, f"model {self.name!r} has no canary to promote")
            old, self.stable, self.canary = self.stable, self.canary, None
            baseline, self.baseline = self.baseline, None
            self._set_weight(0.0)
            for label in LABELS:
                self.faults.pop(label, None)
            self.metrics.loaded(self.name, self.stable.version, "canary", False)
            self.metrics.loaded(self.name, self.stable.version, "stable", True)
        if baseline is not None:
            self._retire(baseline, "baseline")
        if old is not None:
            self._retire(old, "stable")

    def rollback(self) -> None:
        """Canary and baseline out: weight 0, both unloaded; the stable is untouched."""
        with self.lock:
            old, self.canary = self.canary, None
            self._set_weight(0.0)
            self.faults.pop("canary", None)
        if old is not None:
            self._retire(old, "canary")
        self.remove_baseline()

    def remove_baseline(self) -> None:
        with self.lock:
            old, self.baseline = self.baseline, None
            self._set_weight(self.canary_weight, 0.0)
            self.faults.pop("baseline", None)
        if old is not None:
            self._retire(old, "baseline")

    def _retire(self, old: LoadedVersion, label: str) -> None:
        """Unload `old` in the background once its requests are answered."""
        self.metrics.loaded(self.name, old.version, self.metric_label(label), False)
        with self.lock:
            # The baseline shares its version number with the stable: the version stays AVAILABLE
            # while another instance of it is held.
            twin = any(v is not None and v.version == old.version for v in (self.stable, self.canary))
            if not twin:
                self.status[old.version] = VersionStatus("UNLOADING")

        def unload() -> None:
            old.unload()
            with self.lock:
                if not twin and self.status.get(old.version, VersionStatus("")).state == "UNLOADING":
                    self.status[old.version] = VersionStatus("END")
            self.metrics.queue_depth(self.name, old.version, 0)

        threading.Thread(target=unload, name=f"unload-{self.name}-{old.version}", daemon=True).start()

    def close(self) -> None:
        """Drain and stop every loaded version (server shutdown)."""
        with self.lock:
            held = [v for v in (self.stable, self.canary, self.baseline) if v is not None]
        for loaded in held:
            loaded.unload(timeout=30.0)
