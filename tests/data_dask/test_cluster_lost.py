"""A Dask cluster that goes away mid-stage: a clear error within a bounded time, and no output files."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pipelines.config import load_dataset
from pipelines.config.dataset import DaskConfig
from pipelines.data import dask_engine
from pipelines.data._csv import write_csv
from pipelines.data.synthetic import breast_cancer_rows
from tests.support.repo import REPO_ROOT

TIMEOUT_S = 10.0


@pytest.mark.slow
@pytest.mark.integration
def test_cluster_closed_while_split_writes_fails_fast_and_leaves_nothing(tmp_path: Path) -> None:
    raw = write_csv(breast_cancer_rows(300_000, seed=2), tmp_path / "raw.csv")
    cfg = load_dataset(REPO_ROOT / "datasets/breast-cancer/dataset.yaml").model_copy(
        update={"engine": "dask", "dask": DaskConfig(partitions=6, timeout_s=TIMEOUT_S)}
    )
    out = tmp_path / "splits"
    outcome: list[BaseException | None] = []
    cluster = dask_engine.local_cluster()

    def stage() -> None:
        try:
            with dask_engine.dask_client("synthetic", cluster.scheduler_address, TIMEOUT_S) as client:
                dask_engine.split_csv(client, "synthetic", raw, out, cfg, ("label",))
            outcome.append(None)
        except BaseException as exc:  # the assertion below says what it was
            outcome.append(exc)

    worker = threading.Thread(target=stage, daemon=True)
    worker.start()
    deadline = time.monotonic() + 120
    while not (out / "train.csv.tmp").exists():  # the stage is writing its first file
        assert worker.is_alive() and time.monotonic() < deadline, f"stage ended early: {outcome}"
        time.sleep(0.02)
    lost_at = time.monotonic()
    cluster.close()
    worker.join(timeout=4 * TIMEOUT_S)
    took = time.monotonic() - lost_at

    assert not worker.is_alive(), "the stage hung after its cluster went away"
    assert took < 4 * TIMEOUT_S
    assert len(outcome) == 1 and isinstance(outcome[0], dask_engine.DaskClusterError), outcome
    assert "went away mid-stage" in str(outcome[0]) and "synthetic" in str(outcome[0])
    assert list(out.iterdir()) == []  # no split file, and no .tmp left behind


def test_unreachable_scheduler_is_a_clear_error_in_bounded_time(tmp_path: Path) -> None:
    from tests.support.ports import free_port

    started = time.monotonic()
    with (
        pytest.raises(dask_engine.DaskClusterError, match=r"cannot start or reach the Dask scheduler"),
        dask_engine.dask_client("synthetic", f"tcp://127.0.0.1:{free_port()}", 2.0),
    ):
        pass
    assert time.monotonic() - started < 15
