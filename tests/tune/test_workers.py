"""Many workers, one study, on a real PostgreSQL: `aip tune --workers 2` (two spawned processes) and
an independent `aip tune` started at the same moment (as a CI matrix job or a pod would be) all
share one study and nest their trials under one MLflow parent run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import AIP
from tests.support.services import postgres_server

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _start(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*AIP, "tune", "tumor-classifier", *args],
        cwd=root,
        env={**os.environ, "AIP_REPO": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_workers_and_independent_jobs_share_one_study_and_one_parent_run(
    tune_root: Path, tmp_path: Path
) -> None:
    import optuna
    from mlflow.tracking import MlflowClient

    root = Path(shutil.copytree(tune_root, tmp_path / "repo"))
    with postgres_server(tmp_path / "pg") as pg:
        common = ("--study", "shared", "--storage", pg.url)
        local = _start(root, *common, "--trials", "2", "--workers", "2")
        job = _start(root, *common, "--trials", "1")
        outputs = [p.communicate(timeout=300)[0] for p in (local, job)]
        assert (local.returncode, job.returncode) == (0, 0), "\n".join(outputs)
        assert "[worker 1]" in outputs[0] and "[worker 2]" in outputs[0]
        assert "aip:***@127.0.0.1" in outputs[0] and "aip:aip@" not in "".join(outputs)

        storage = optuna.storages.RDBStorage(pg.url)
        try:
            study = optuna.load_study(study_name="shared", storage=storage)
            assert len(study.trials) == 3
            parent_id = study.user_attrs["aip.mlflow_parent_run_id"]
        finally:
            storage.engine.dispose()  # close the pooled connections before the server stops

    client = MlflowClient(tracking_uri=f"sqlite:///{root}/.aip/mlflow.db")
    experiment = client.get_experiment_by_name("aip/tumor-classifier-tuning")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert [p.info.run_id for p in parents] == [parent_id]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent_id]
    assert len(children) == 3
    processes = {r.data.tags["aip.tune.process"] for r in children}
    assert len(processes) == 3  # two spawned workers and the independent job
    assert sorted(r.data.tags["aip.tune.trial"] for r in children) == [str(n) for n in range(3)]
