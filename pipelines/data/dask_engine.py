"""`engine: dask`: the ingest and split stages on a Dask cluster, byte-identical to the pandas path.

Where it runs: a `distributed.LocalCluster` (2 worker processes on 127.0.0.1, no dashboard) unless a
scheduler address is given (dataset.yaml `dask.scheduler_address`, else $AIP_DASK_SCHEDULER, else the
environment's `dask_scheduler` in platform.yaml): in production a DaskCluster run by the Dask Kubernetes
operator (docs/data-preparation.md).

Why the split files are the same bytes as `split.split_frame`'s: that algorithm draws one
`RandomState(seed)` stream over the classes in sorted order, each class's rows in sorted-row order, so
a row's split depends only on (its class, its rank within the class in that order, the class sizes).
It cannot be made partition-local (the stream is sequential), so the work is split along that seam:
Dask parses the CSV and sorts the rows by the same key (partitions end up ordered by label, each one
sorted), the client counts rows per class and partition (a few integers), draws the same permutations
once and sends each partition the split code of its rows; the workers filter and format CSV text,
which the client appends in partition order to temporary files renamed only when all three are
complete. Rows equal on every column are interchangeable, so sort stability cannot change the bytes.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.data._csv import FLOAT_FORMAT
from pipelines.data._paths import SPLITS
from pipelines.data.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from pipelines.config import DatasetConfig, SplitConfig

SCHEDULER_ENV = "AIP_DASK_SCHEDULER"
LOCAL_WORKERS = 2
_CODES = {name: code for code, name in enumerate(SPLITS)}


class DaskClusterError(DataError):
    """The Dask cluster could not be reached, or went away while a stage ran; nothing was written."""


@contextlib.contextmanager
def dask_client(dataset: str, address: str | None, timeout_s: float) -> Iterator[Any]:
    """A client of the scheduler at `address`, or of a fresh LocalCluster closed on exit.

    The timeouts bound every failure: connecting, waiting for a lost scheduler to come back, and
    tasks left without workers all give up after `timeout_s` instead of hanging the DVC stage.
    """
    dask, distributed = dask_module("dask"), dask_module("distributed")
    settings = {
        "distributed.comm.timeouts.connect": f"{timeout_s}s",
        "distributed.scheduler.no-workers-timeout": f"{timeout_s}s",
        "distributed.client.heartbeat": "1s",
        "dataframe.shuffle.method": "tasks",  # p2p pays off only for data far larger than memory
        "dataframe.convert-string": False,  # object strings, exactly as pandas.read_csv gives them
    }
    with dask.config.set(settings), contextlib.ExitStack() as stack:
        stack.enter_context(_quiet("distributed.shuffle", "distributed.worker", "distributed.nanny"))
        try:
            if address:
                client = stack.enter_context(distributed.Client(address, timeout=timeout_s))
            else:
                cluster = stack.enter_context(local_cluster())
                client = stack.enter_context(distributed.Client(cluster, timeout=timeout_s))
        except (OSError, TimeoutError) as exc:
            where = address or "a LocalCluster"
            raise DaskClusterError(
                f"{dataset}: cannot start or reach the Dask scheduler at {where}: {exc}"
            ) from exc
        yield client


def local_cluster(workers: int = LOCAL_WORKERS) -> Any:
    """The embedded default: `workers` processes of one thread, everything bound to 127.0.0.1, no
    dashboard (the scheduler's health endpoint takes a free loopback port, never 8787)."""
    return dask_module("distributed").LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
    )


def dask_module(name: str) -> Any:
    """A Dask module, typed Any: dask and distributed ship few type hints, so they are kept to this file."""
    return importlib.import_module(name)


@contextlib.contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """Keep Dask's progress chatter (shuffle start/stop per task) out of the stage's output."""
    import logging

    before = {name: logging.getLogger(name).level for name in loggers}
    for name in loggers:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)


def scheduler_address(cfg: DatasetConfig, platform_address: str | None = None) -> str | None:
    """dataset.yaml's address, else $AIP_DASK_SCHEDULER, else the environment's; None: a LocalCluster."""
    return cfg.dask.scheduler_address or os.environ.get(SCHEDULER_ENV) or platform_address or None


def write_frame(client: Any, dataset: str, frame: Any, path: Path, timeout_s: float) -> Path:
    """Write a Dask frame as `_csv.write_csv` would write its pandas equivalent: same bytes, atomically."""
    dask = dask_module("dask")
    parts = [dask.delayed(_csv_text)(part, header=i == 0) for i, part in enumerate(frame.to_delayed())]
    _write_texts(client, dataset, {path: parts}, timeout_s)
    return path


def split_csv(
    client: Any,
    dataset: str,
    raw: Path,
    out: Path,
    cfg: DatasetConfig,
    string_columns: tuple[str, ...],
) -> dict[str, Path]:
    """The split stage on the cluster: `raw` -> `out/{train,validation,test}.csv`, as the pandas path."""
    dask = dask_module("dask")
    frame = read_csv(dataset, raw, string_columns, cfg.dask.partitions)
    label = cfg.label_column
    if label not in frame.columns:
        raise DataError(f"label column '{label}' is not in the data (columns: {list(frame.columns)})")
    key = [label, *[c for c in frame.columns if c != label]]
    with _cluster_errors(dataset):  # sorted once, kept on the workers for the four passes below
        ordered = client.persist(frame.sort_values(key, npartitions=cfg.dask.partitions))
    parts = ordered.to_delayed()
    counts: list[pd.Series] = _compute(
        client, dataset, [dask.delayed(_group_counts)(p, label, cfg.split.stratify) for p in parts]
    )
    codes = partition_codes(counts, cfg.split)
    texts: dict[Path, list[Any]] = {}
    for name in SPLITS:
        texts[out / f"{name}.csv"] = [
            dask.delayed(_csv_text)(p, header=i == 0, codes=c, keep=_CODES[name])
            for i, (p, c) in enumerate(zip(parts, codes, strict=True))
        ]
    _write_texts(client, dataset, texts, cfg.dask.timeout_s)
    return {name: out / f"{name}.csv" for name in SPLITS}


def read_csv(dataset: str, path: Path, string_columns: tuple[str, ...], partitions: int) -> Any:
    """`_csv.read_csv` as a partitioned Dask frame (same NA rules and string columns)."""
    dd = dask_module("dask.dataframe")
    if not path.is_file():
        raise DataError(f"{dataset}: {path} does not exist")
    blocksize = max(path.stat().st_size // partitions + 1, 1 << 16)
    try:
        return dd.read_csv(
            str(path),
            blocksize=blocksize,
            keep_default_na=False,
            na_values=[""],
            dtype={column: str for column in string_columns},
            encoding="utf-8",
        )
    except (ValueError, OSError) as exc:
        raise DataError(f"{dataset}: cannot read {path}: {exc}") from exc


def partition_codes(counts: list[pd.Series], cfg: SplitConfig) -> list[np.ndarray]:
    """Each sorted partition's per-row split code (index into SPLITS), drawn as `split_frame` draws.

    `counts[i]` holds partition i's rows per group (groups in sorted order; one group `""` when not
    stratified); a group's rows are contiguous across partitions because the partitions are sorted.
    """
    import numpy as np
    import pandas as pd

    from pipelines.data._split_sizes import group_sizes

    totals = pd.concat(counts).groupby(level=0, sort=False).sum() if counts else pd.Series(dtype="int64")
    rng = np.random.RandomState(cfg.seed)
    per_group: dict[Any, np.ndarray] = {}
    for group in sorted(totals.index):
        n = int(totals[group])
        code = np.full(n, _CODES["train"], dtype=np.int8)
        shuffled = rng.permutation(n)
        n_test, n_validation = group_sizes(n, cfg.test, cfg.validation)
        code[shuffled[:n_test]] = _CODES["test"]
        code[shuffled[n_test : n_test + n_validation]] = _CODES["validation"]
        per_group[group] = code
    offsets = dict.fromkeys(per_group, 0)
    result: list[np.ndarray] = []
    for part in counts:
        pieces = []
        for group in sorted(part.index):
            n = int(part[group])
            pieces.append(per_group[group][offsets[group] : offsets[group] + n])
            offsets[group] += n
        result.append(np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int8))
    return result


def _group_counts(part: pd.DataFrame, label: str, stratify: bool) -> pd.Series:
    """Rows per group in one partition (runs on a worker)."""
    import pandas as pd

    if not stratify:
        return pd.Series({"": len(part)}, dtype="int64") if len(part) else pd.Series(dtype="int64")
    return part[label].value_counts(sort=False)


def _csv_text(
    part: pd.DataFrame, *, header: bool, codes: np.ndarray | None = None, keep: int | None = None
) -> str:
    """One partition as CSV text in `_csv.write_csv`'s format (runs on a worker)."""
    if codes is not None:
        if len(codes) != len(part):
            raise DataError(f"internal: {len(codes)} split codes for a partition of {len(part)} rows")
        part = part[codes == keep]
    text: str = part.to_csv(index=False, header=header, float_format=FLOAT_FORMAT, lineterminator="\n")
    return text


def _compute(client: Any, dataset: str, tasks: list[Any]) -> Any:
    """Compute `tasks` on the cluster; a lost cluster becomes a DaskClusterError within the timeout."""
    with _cluster_errors(dataset):
        futures = client.compute(tasks)
        return client.gather(futures)


def _write_texts(client: Any, dataset: str, files: dict[Path, list[Any]], timeout_s: float) -> None:
    """Append each file's partition texts in order to `<file>.tmp`; rename all only when all are done."""
    temps = {path: path.with_name(path.name + ".tmp") for path in files}
    try:
        with _cluster_errors(dataset):
            for path, parts in files.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                futures = client.compute(parts)
                with temps[path].open("w", encoding="utf-8", newline="") as handle:
                    for future in futures:
                        handle.write(_result(future, timeout_s))
                        future.release()
    except BaseException:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        raise
    for path, temp in temps.items():
        temp.replace(path)


def _result(future: Any, timeout_s: float) -> str:
    text: str = future.result(timeout=timeout_s)
    return text


@contextlib.contextmanager
def _cluster_errors(dataset: str) -> Iterator[None]:
    """Turn the ways a vanishing cluster surfaces (cancelled futures, closed comms, timeouts, a killed
    worker) into one DaskClusterError; errors of the data itself (DataError) pass through."""
    from concurrent.futures import CancelledError

    from distributed import TimeoutError as DaskTimeout
    from distributed.comm.core import CommClosedError
    from distributed.scheduler import KilledWorker

    lost: tuple[type[BaseException], ...] = (
        CancelledError,
        CommClosedError,
        KilledWorker,
        DaskTimeout,
        TimeoutError,
        OSError,
    )
    try:
        yield
    except DataError:
        raise
    except lost as exc:
        raise DaskClusterError(
            f"{dataset}: the Dask cluster went away mid-stage ({type(exc).__name__}: {exc}); "
            "no output was written, rerun the stage"
        ) from exc
