"""torchrun launches: bad plans fail before anything starts, a dead rendezvous fails in bounded time,
2 Gloo processes train the tabular model as well as 1, a crashing worker is a clean error."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipelines.config.model import DistributedTraining
from pipelines.train.launch import LaunchPlan, TrainingLaunchFailed, WorldTooLarge, train
from tests.support.ports import free_port
from tests.train_distributed.conftest import short

TOLERANCE = 0.05  # val accuracy / macro-F1: 86 validation rows, so ~4 rows; the gates allow 2-7 points


def _train(frames, plan: LaunchPlan, config, tmp: Path, **kw):
    out = tmp / "artifact"
    return train(
        plan,
        config,
        frames.dataset,
        frames.train,
        frames.validation,
        out,
        work_dir=tmp,
        run_id=None,
        log_metrics=None,
        checkpoint_dir=None,
        device="cpu",
        **kw,
    )


def test_more_cpu_processes_than_cores_is_refused_before_launching():
    cores = os.cpu_count() or 1
    with pytest.raises(WorldTooLarge, match=rf"--nproc-per-node {cores + 1} .* {cores} core\(s\)"):
        LaunchPlan(nproc_per_node=cores + 1).check("cpu")


def test_more_gpu_processes_than_cuda_devices_is_refused(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(
        WorldTooLarge, match=r"--nproc-per-node 2 asks for one GPU per process.*1 CUDA device"
    ):
        LaunchPlan(nproc_per_node=2).check("cuda")


def test_several_nodes_need_an_endpoint_and_a_valid_rank():
    with pytest.raises(TrainingLaunchFailed, match="--nnodes 2 needs --rdzv-endpoint"):
        LaunchPlan(nnodes=2).check("cpu")
    with pytest.raises(WorldTooLarge, match=r"--node-rank 2 is outside 0\.\.1"):
        LaunchPlan(nnodes=2, node_rank=2, rdzv_endpoint="h:1").check("cpu")


def test_cli_flags_override_model_yaml_and_unset_flags_keep_it():
    settings = DistributedTraining(nproc_per_node=4, gradient_accumulation_steps=2, lr_scaling="sqrt")
    plan = LaunchPlan.from_settings(settings, nproc_per_node=2, nnodes=None, lr_scaling=None)
    assert (plan.nproc_per_node, plan.gradient_accumulation_steps, plan.lr_scaling) == (2, 2, "sqrt")
    assert plan.world_size == 2


@pytest.mark.slow
@pytest.mark.integration
def test_a_rendezvous_that_never_answers_fails_within_its_timeout(tabular, tmp_path):
    plan = LaunchPlan(nproc_per_node=1, nnodes=2, node_rank=1, rdzv_endpoint=f"127.0.0.1:{free_port()}",
                      rdzv_timeout_seconds=3)  # fmt: skip
    started = time.monotonic()
    with pytest.raises(TrainingLaunchFailed, match=r"did not meet at rendezvous 127\.0\.0\.1:\d+ within 3 s"):
        _train(tabular, plan, short(tabular, 1), tmp_path)
    assert time.monotonic() - started < 60  # the timeout plus torchrun's start-up on a loaded machine


@pytest.mark.slow
@pytest.mark.integration
def test_two_gloo_processes_train_the_tabular_model_as_well_as_one(tabular, tmp_path):
    config = short(tabular, epochs=20)
    one = _train(tabular, LaunchPlan(), config, tmp_path / "one")
    two = _train(tabular, LaunchPlan(nproc_per_node=2), config, tmp_path / "two")
    assert two.params["world_size"] == 2 and one.params["world_size"] == 1
    assert two.params["global_batch_size"] == 2 * config.training.batch_size
    assert two.params["distributed_backend"] == "gloo"
    best_one, best_two = one.history[one.best_epoch - 1], two.history[two.best_epoch - 1]
    for metric in ("val_accuracy", "val_macro_f1"):
        assert abs(best_one[metric] - best_two[metric]) <= TOLERANCE, (metric, best_one, best_two)
    assert (two.artifact_dir / "model.safetensors").is_file()


@pytest.mark.slow
@pytest.mark.integration
def test_a_crashing_worker_is_a_clean_error_and_writes_no_artifact(tabular, tmp_path):
    broken = tabular.train.drop(columns=[tabular.dataset.label_column])  # every rank fails on it
    frames = type(tabular)(tabular.config, tabular.dataset, broken, tabular.validation)
    with pytest.raises(TrainingLaunchFailed, match=r"torchrun exited 1.*no label column"):
        _train(frames, LaunchPlan(nproc_per_node=2), short(tabular, 1), tmp_path)
    assert not (tmp_path / "artifact").exists()
    assert not (tmp_path / "job" / "result.json").exists()
