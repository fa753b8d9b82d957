"""Synthetic traffic for the embedded default: replay the model's evaluation inputs.

In production the traffic is real and the controller only watches it. Locally nobody sends
requests, so `aip deploy` replays the test split (`pipelines.data.model_inputs`: labels dropped) in
a loop, from N concurrent closed-loop clients, as unlabelled `:predict` calls that the server splits
by weight. Every request carries `X-AIP-Traffic: synthetic`, so the server keeps these
replayed test rows out of the drift sink (they would read as drift: 113 rows repeated). Every
response is recorded on the client side too (status, the `X-Model-Label` header, latency), which is
how the fault suite checks that clients see no errors beyond the canary's share.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pipelines.monitoring.hook import SYNTHETIC, TRAFFIC_HEADER

__all__ = ["ClientRecord", "LoadDriver", "replay_inputs"]


def replay_inputs(repo: Any, model: str) -> list[Any]:
    """The test split's inputs in the form the server takes: text strings, or feature dicts."""
    from pipelines.data import load_split, model_inputs

    dataset = repo.model(model).dataset
    return model_inputs(repo, dataset, load_split(repo, dataset, "test"))


@dataclass(frozen=True)
class ClientRecord:
    ts: float
    status: int  # HTTP status; 0 when the connection failed
    label: str  # X-Model-Label of the answer ("" when none)
    version: str
    latency_seconds: float


@dataclass
class LoadDriver:
    """N closed-loop clients cycling through `inputs` until stop()."""

    endpoint: str
    model: str
    inputs: list[Any]
    clients: int = 4
    timeout: float = 30.0
    records: list[ClientRecord] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def describe(self) -> str:
        return (
            f"replaying {len(self.inputs)} evaluation inputs of {self.model} (test split) from "
            f"{self.clients} concurrent clients against {self.endpoint}"
        )

    def start(self) -> LoadDriver:
        if not self.inputs:
            raise ValueError(f"{self.model}: no inputs to replay")
        for i in range(self.clients):
            thread = threading.Thread(target=self._client, args=(i,), name=f"aip-load-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)
        self._threads.clear()

    def __enter__(self) -> LoadDriver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _connect(self) -> http.client.HTTPConnection:
        url = urllib.parse.urlsplit(self.endpoint)
        cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        return cls(url.hostname or "127.0.0.1", url.port, timeout=self.timeout)

    def _client(self, index: int) -> None:
        path = f"{urllib.parse.urlsplit(self.endpoint).path.rstrip('/')}/v1/models/{self.model}:predict"
        # Marked synthetic: the server keeps replayed test rows out of the drift sink (docs/serving.md).
        headers = {"Content-Type": "application/json", "Connection": "keep-alive", TRAFFIC_HEADER: SYNTHETIC}
        conn = self._connect()
        position = index * max(1, len(self.inputs) // self.clients)
        while not self._stop.is_set():
            body = json.dumps({"instances": [self.inputs[position % len(self.inputs)]]})
            position += 1
            start = time.perf_counter()
            ts = time.time()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                record = ClientRecord(
                    ts,
                    response.status,
                    response.getheader("X-Model-Label", "") or "",
                    response.getheader("X-Model-Version", "") or "",
                    time.perf_counter() - start,
                )
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = self._connect()
            except (OSError, http.client.HTTPException):
                record = ClientRecord(ts, 0, "", "", time.perf_counter() - start)
                conn.close()
                conn = self._connect()
                self._stop.wait(0.05)
            with self._lock:
                self.records.append(record)
        conn.close()

    def snapshot(self, since: float = 0.0) -> list[ClientRecord]:
        with self._lock:
            return [r for r in self.records if r.ts >= since]

    def summary(self, since: float = 0.0) -> dict[str, Any]:
        """Requests and errors (status >= 500 or no answer) by answering label, as clients saw them."""
        records = self.snapshot(since)
        total: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        for r in records:
            total[r.label or "none"] += 1
            if r.status == 0 or r.status >= 500:
                errors[r.label or "none"] += 1
        seconds = (records[-1].ts - records[0].ts) if len(records) > 1 else 0.0
        return {
            "requests": len(records),
            "requests_per_second": round(len(records) / seconds, 1) if seconds else None,
            "by_label": dict(total),
            "errors_by_label": dict(errors),
        }
