"""Batch jobs' metrics (`aip run`, `aip drift`): pushed to a Pushgateway, else a node-exporter textfile.

    AIP_PUSHGATEWAY_URL=http://pushgateway:9091 aip run     # push (production, CI on GPU runners)
    aip run                                                  # <state_dir>/metrics/*.prom (a laptop)
    AIP_TEXTFILE_DIR=/var/lib/prometheus/node-exporter aip run   # the runner host's textfile collector

A batch job is gone before Prometheus could scrape it, so its metrics are pushed once at the end.
Each (job, model, env) is its own Pushgateway group / textfile, so one model's push never erases
another's. Counters and "last success" gauges continue from the previous push of the same group (read
back from the Pushgateway or the file), so `aip_pipeline_runs_total` counts runs across processes.
Pushing is best effort: a failure prints a warning and never fails the job that pushes.
The jobs build their batches (`pipelines.lifecycle.run.metric_batches`,
`pipelines.monitoring.drift.metric_batch`); this module only pushes them.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.http import request

if TYPE_CHECKING:
    from pipelines.repo.layout import Repo

PUSHGATEWAY_ENV = "AIP_PUSHGATEWAY_URL"
TEXTFILE_ENV = "AIP_TEXTFILE_DIR"
_TIMEOUT_SECONDS = 10


@dataclass
class Sample:
    metric: str  # a catalogue name
    labels: dict[str, str]
    value: float


@dataclass
class Batch:
    """The metrics of one push group: job plus the grouping labels (model, env)."""

    job: str
    group: dict[str, str]
    samples: list[Sample] = field(default_factory=list)
    keep: set[str] = field(default_factory=set)
    """Gauges whose previous series survive this push when it does not set them (counters always do)."""

    def add(self, metric: str, value: float, /, **labels: str) -> None:
        self.samples.append(Sample(metric, {**self.group, **labels}, float(value)))


def textfile_dir(repo: Repo) -> Path:
    return Path(os.environ.get(TEXTFILE_ENV) or repo.state_dir / "metrics")


def _file_name(batch: Batch) -> str:
    parts = [batch.job, *(f"{k}={v}" for k, v in sorted(batch.group.items()))]
    return re.sub(r"[^A-Za-z0-9_.=-]", "_", "--".join(parts)) + ".prom"


def _previous(text: str, batch: Batch) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Values of this group's series in an exposition text (a textfile or a Pushgateway's /metrics)."""
    from prometheus_client.parser import text_string_to_metric_families

    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = dict(sample.labels)
            if labels.get("job", batch.job) != batch.job:
                continue
            if any(labels.get(k) != v for k, v in batch.group.items()):
                continue
            labels.pop("job", None)
            labels.pop("instance", None)
            values[(sample.name, tuple(sorted(labels.items())))] = sample.value
    return values


def _registry(batch: Batch, previous: Mapping[tuple[str, tuple[tuple[str, str], ...]], float]) -> Any:
    import prometheus_client
    from prometheus_client import CollectorRegistry

    from pipelines.observability.catalogue import BY_NAME, create

    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry()
    metrics: dict[str, Any] = {}
    for sample in batch.samples:
        spec = BY_NAME[sample.metric]
        if sample.metric not in metrics:
            metrics[sample.metric] = create(sample.metric, registry)
        child = metrics[sample.metric].labels(**{k: sample.labels[k] for k in spec.labels})
        if spec.kind == "counter":
            key = (spec.name, tuple(sorted((k, sample.labels[k]) for k in spec.labels)))
            child.inc(previous.get(key, 0.0) + sample.value)
        else:
            child.set(sample.value)
    return registry


def _carry_over(batch: Batch, previous: Mapping[tuple[str, tuple[tuple[str, str], ...]], float]) -> None:
    """Series of counters and of the batch's `keep` gauges that this push does not set keep their values."""
    from pipelines.observability.catalogue import BY_NAME

    pushed = {(s.metric, tuple(sorted(s.labels.items()))) for s in batch.samples}
    for (name, labels), value in previous.items():
        spec = BY_NAME.get(name)  # counters' samples carry the `_total` name, as in the catalogue
        if spec is None or (spec.kind != "counter" and spec.name not in batch.keep):
            continue
        if (spec.name, labels) in pushed:
            continue
        if spec.kind == "counter":
            batch.samples.append(Sample(spec.name, dict(labels), 0.0))  # _registry adds the previous value
        else:
            batch.samples.append(Sample(spec.name, dict(labels), value))


def push(repo: Repo, batch: Batch) -> str:
    """Push one group; returns where it went. Raises on failure (callers use `push_quietly`)."""
    from prometheus_client import push_to_gateway, write_to_textfile

    url = os.environ.get(PUSHGATEWAY_ENV)
    if url:
        _, text = request("GET", f"{url.rstrip('/')}/metrics", timeout=_TIMEOUT_SECONDS)
        previous = _previous(text.decode(), batch)
        _carry_over(batch, previous)
        registry = _registry(batch, previous)
        push_to_gateway(
            url, job=batch.job, grouping_key=batch.group, registry=registry, timeout=_TIMEOUT_SECONDS
        )
        return f"{url} (job={batch.job}, {', '.join(f'{k}={v}' for k, v in batch.group.items())})"
    folder = textfile_dir(repo)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _file_name(batch)
    previous = _previous(path.read_text(), batch) if path.is_file() else {}
    _carry_over(batch, previous)
    registry = _registry(batch, previous)
    write_to_textfile(str(path), registry)  # written to a temporary file, then renamed: atomic
    return str(path)


def push_quietly(repo: Repo, batches: Iterable[Batch]) -> list[str]:
    """Push every batch; a failure is a warning on stderr, never an exception."""
    where = []
    for batch in batches:
        try:
            where.append(push(repo, batch))
        except Exception as exc:
            print(f"warning: metrics of {batch.job} {batch.group} not pushed: {exc}", file=sys.stderr)
    return where
