"""The sample sink: sampled request inputs and predictions, partitioned by model, version and date.

Layout (Hive-style partitions, so Athena, Spark or DuckDB read it as one table):

    <sink>/model=<model>/version=<version>/date=<YYYY-MM-DD>/part-<host>-<pid>-<start>.jsonl

one JSON object per predicted instance:

    {"ts": 1767225600.1, "request_id": "...", "index": 0, "model": "m", "version": "3",
     "label": "stable", "inputs": {...} | "text", "prediction": "benign", "probabilities": [0.9, 0.1]}

The sink is a local folder (`<state_dir>/samples/<env>`) unless `AIP_SAMPLE_SINK` names another
folder or an fsspec URI (s3://bucket/prefix in production; the server's role needs write access).
Local files are appended to; object stores get one new object per flush (they cannot append).
Only what the model received is stored; request headers and tokens never are. A model whose
model.yaml sets `monitoring.sampling: false` (the privacy switch) is never written.
"""

from __future__ import annotations

import json
import os
import queue
import random
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from pipelines.repo.layout import Repo

SINK_ENV = "AIP_SAMPLE_SINK"
_FLUSH_SECONDS = 2.0  # a sampled request reaches the sink within this (plus write time)
_QUEUE_LIMIT = 10_000  # requests waiting to be written; beyond it samples are dropped, never the request


def sink_uri(repo: Repo, env: str) -> str:
    """Where samples of an environment live: $AIP_SAMPLE_SINK, else <state_dir>/samples/<env>."""
    return os.environ.get(SINK_ENV) or str(repo.state_dir / "samples" / env)


def _fs(uri: str) -> tuple[Any, str, bool]:
    import fsspec

    fs, root = fsspec.core.url_to_fs(uri)
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return fs, root.rstrip("/"), "file" in protocols or "local" in protocols


def partition(model: str, version: str, day: date) -> str:
    return f"model={model}/version={version}/date={day.isoformat()}"


class SampleSink:
    """Appends sample records to the sink and reads windows back."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._fs, self._root, self._local = _fs(uri)
        start = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self._part = f"part-{socket.gethostname()}-{os.getpid()}-{start}"
        self._flushes = 0

    def write(self, records: Sequence[dict[str, Any]]) -> None:
        """Write records (each with model, version and ts) into their partitions."""
        groups: dict[str, list[str]] = {}
        for record in records:
            day = datetime.fromtimestamp(float(record["ts"]), UTC).date()
            key = partition(str(record["model"]), str(record["version"]), day)
            groups.setdefault(key, []).append(json.dumps(record, ensure_ascii=False, default=str))
        self._flushes += 1
        for key, lines in groups.items():
            folder = f"{self._root}/{key}"
            self._fs.makedirs(folder, exist_ok=True)
            text = ("\n".join(lines) + "\n").encode()
            if self._local:
                with self._fs.open(f"{folder}/{self._part}.jsonl", "ab") as handle:
                    handle.write(text)
            else:
                with self._fs.open(f"{folder}/{self._part}-{self._flushes:06d}.jsonl", "wb") as handle:
                    handle.write(text)

    def read(
        self, model: str, since: datetime, until: datetime, version: str | None = None
    ) -> list[dict[str, Any]]:
        """Records of a model (optionally one version) with since <= ts < until, oldest first."""
        records: list[dict[str, Any]] = []
        low, high = since.timestamp(), until.timestamp()
        for path in self._files(model, since.date(), until.date(), version):
            with self._fs.open(path, "rb") as handle:
                for line in handle.read().decode().splitlines():
                    if not line.strip():
                        continue
                    record = json.loads(line)
                    if low <= float(record["ts"]) < high:
                        records.append(record)
        records.sort(key=lambda r: float(r["ts"]))
        return records

    def _files(self, model: str, first: date, last: date, version: str | None) -> Iterator[str]:
        base = f"{self._root}/model={model}"
        if not self._fs.exists(base):
            return
        pattern = f"{base}/version={version or '*'}/date=*/*.jsonl"
        for path in sorted(self._fs.glob(pattern)):
            day = date.fromisoformat(str(path).rsplit("date=", 1)[1].split("/", 1)[0])
            if first <= day <= last:
                yield str(path)


@dataclass(frozen=True)
class _Policy:
    enabled: bool
    rate: float


class Sampler:
    """What the model server calls for every answered request; writes in a background thread.

        sampler = Sampler.for_server(repo, env, registry)     # once per server process
        sampler.record(model=..., version=..., label=..., request_id=...,
                       inputs=[...], predictions=[...], probabilities=[[...], ...])
        sampler.close()                                       # at shutdown: flush what is queued

    `record` costs a dictionary look-up and a random draw for unsampled requests, and a queue put
    for sampled ones; it never raises into the request path and never blocks (a full queue drops).
    """

    def __init__(
        self,
        sink: SampleSink,
        policies: dict[str, _Policy],
        registry: CollectorRegistry | None = None,
        seed: int | None = None,
        counter: Any = None,
    ) -> None:
        self.sink = sink
        self._policies = policies
        self._random = random.Random(seed)
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=_QUEUE_LIMIT)
        self.dropped = 0
        self.errors = 0
        self._counter = counter  # the server passes its own aip_serving_samples_written_total
        if counter is None and registry is not None:
            from pipelines.observability.catalogue import create

            self._counter = create("aip_serving_samples_written_total", registry)
        self._thread = threading.Thread(target=self._run, name="aip-sample-sink", daemon=True)
        self._thread.start()

    @classmethod
    def for_server(
        cls,
        repo: Repo,
        env: str,
        registry: CollectorRegistry | None = None,
        sink: str | None = None,
        counter: Any = None,
    ) -> Sampler:
        """A sampler with each model's monitoring settings from its model.yaml."""
        policies = {}
        for name in repo.model_names():
            monitoring = repo.model(name).monitoring
            policies[name] = _Policy(monitoring.sampling, monitoring.sample_rate)
        return cls(SampleSink(sink or sink_uri(repo, env)), policies, registry, counter=counter)

    def sampled(self, model: str) -> bool:
        """Draw whether this request of `model` is sampled (False where sampling is off)."""
        policy = self._policies.get(model)
        if policy is None or not policy.enabled or policy.rate <= 0:
            return False
        return policy.rate >= 1 or self._random.random() < policy.rate

    def record(
        self,
        *,
        model: str,
        version: str,
        label: str | None,
        request_id: str,
        inputs: Sequence[Any],
        predictions: Sequence[str],
        probabilities: Sequence[Sequence[float]] | None = None,
    ) -> bool:
        """Sample one answered request (all its instances) with the model's rate; True when queued."""
        if not self.sampled(model):
            return False
        return self.enqueue(
            model=model,
            version=version,
            label=label,
            request_id=request_id,
            inputs=inputs,
            predictions=predictions,
            probabilities=probabilities,
        )

    def enqueue(
        self,
        *,
        model: str,
        version: str,
        label: str | None,
        request_id: str,
        inputs: Sequence[Any],
        predictions: Sequence[str],
        probabilities: Sequence[Sequence[float]] | None = None,
    ) -> bool:
        """Queue a request that `sampled` drew; False when the queue is full (the sample is dropped)."""
        now = time.time()
        records = [
            {
                "ts": now,
                "request_id": request_id,
                "index": i,
                "model": model,
                "version": str(version),
                "label": label or "",
                "inputs": _plain(value),
                "prediction": str(predictions[i]) if i < len(predictions) else None,
                "probabilities": [float(p) for p in probabilities[i]] if probabilities is not None else None,
            }
            for i, value in enumerate(inputs)
        ]
        for item in records:
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                self.dropped += 1
                return False
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Flush what is queued and stop the writer thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        batch: list[dict[str, Any]] = []
        deadline = time.monotonic() + _FLUSH_SECONDS
        stop = False
        while not stop:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                if item is None:
                    stop = True
                else:
                    batch.append(item)
            except queue.Empty:
                pass
            if batch and (stop or time.monotonic() >= deadline or len(batch) >= 1000):
                self._flush(batch)
                batch = []
            if time.monotonic() >= deadline:
                deadline = time.monotonic() + _FLUSH_SECONDS

    def _flush(self, batch: list[dict[str, Any]]) -> None:
        try:
            self.sink.write(batch)
        except Exception:  # the sink is best effort: a failing bucket must not take serving down
            self.errors += 1
            return
        if self._counter is not None:
            counts: dict[tuple[str, str], int] = {}
            for record in batch:
                key = (record["model"], record["version"])
                counts[key] = counts.get(key, 0) + 1
            for (model, version), n in counts.items():
                self._counter.labels(model=model, version=version).inc(n)


def _plain(value: Any) -> Any:
    """Inputs as JSON values (numpy scalars and arrays become numbers and lists)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def window(days: int, until: datetime | None = None) -> tuple[datetime, datetime]:
    end = until or datetime.now(UTC)
    return end - timedelta(days=days), end


__all__ = ["SINK_ENV", "SampleSink", "Sampler", "partition", "sink_uri", "window"]
