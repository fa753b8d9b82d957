"""Checkpoints in one process: resuming continues bit-identically; a corrupt one is a clear error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from pipelines.artifacts import load
from pipelines.train.checkpoint import (
    CheckpointCorrupt,
    CheckpointMismatch,
    latest_checkpoint,
    load_checkpoint,
)
from pipelines.train.loop import Checkpointing
from pipelines.train.trainer import Parallel, train_model
from tests.train_distributed.conftest import short


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def _train(frames, config, out: Path, checkpoints: Checkpointing | None):
    return train_model(
        config,
        frames.dataset,
        frames.train,
        frames.validation,
        out,
        device="cpu",
        parallel=Parallel(checkpoints=checkpoints),
    )


def test_a_run_resumed_mid_epoch_ends_with_the_weights_of_an_uninterrupted_run(tabular, tmp_path):
    config = short(tabular, epochs=4)  # ~12 steps an epoch: step 30 is in the middle of epoch 3
    whole = _train(tabular, config, tmp_path / "whole", Checkpointing(tmp_path / "ck-whole", every_steps=30))
    saved = latest_checkpoint(tmp_path / "ck-whole")
    assert saved is not None and saved.name == "step-00000030"
    state = json.loads((saved / "state.json").read_text())
    assert state["epoch"] == 3 and 0 < state["batches_done"] < 12  # mid-epoch, not at a boundary
    resumed = _train(
        tabular, config, tmp_path / "resumed", Checkpointing(tmp_path / "ck2", 0, resume_from=saved)
    )
    a, b = _weights(whole.artifact_dir), _weights(resumed.artifact_dir)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit-identical, not just close
    assert resumed.best_epoch == whole.best_epoch
    assert [r["val_macro_f1"] for r in resumed.history] == [r["val_macro_f1"] for r in whole.history]
    assert load(resumed.artifact_dir).labels == load(whole.artifact_dir).labels


@pytest.fixture
def checkpoint(tabular, tmp_path) -> Path:
    _train(tabular, short(tabular, epochs=1), tmp_path / "out", Checkpointing(tmp_path / "ck", every_steps=5))
    found = latest_checkpoint(tmp_path / "ck")
    assert found is not None
    return found


def test_a_truncated_weights_file_is_an_error_naming_it(checkpoint):
    weights = checkpoint / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointCorrupt, match=r"model\.safetensors does not match its sha256.*--no-resume"):
        load_checkpoint(checkpoint, world_size=1, accumulation=1)


def test_a_missing_file_or_manifest_is_an_error_naming_it(checkpoint, tmp_path):
    other = shutil.copytree(checkpoint, tmp_path / "copy")
    (checkpoint / "optimizer.pt").unlink()
    with pytest.raises(CheckpointCorrupt, match=r"optimizer\.pt is missing"):
        load_checkpoint(checkpoint, world_size=1, accumulation=1)
    (other / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointCorrupt, match=r"manifest\.json is unreadable"):
        load_checkpoint(other, world_size=1, accumulation=1)


def test_a_checkpoint_of_another_world_size_is_refused(checkpoint):
    with pytest.raises(CheckpointMismatch, match=r"written by 1 process.*this run has 2"):
        load_checkpoint(checkpoint, world_size=2, accumulation=1)


def test_training_from_a_corrupt_checkpoint_fails_without_writing_an_artifact(tabular, checkpoint, tmp_path):
    (checkpoint / "rng.pt").write_bytes(b"garbage")
    out = tmp_path / "never"
    with pytest.raises(CheckpointCorrupt, match=r"rng\.pt"):
        _train(tabular, short(tabular, 1), out, Checkpointing(tmp_path / "ck3", 0, resume_from=checkpoint))
    assert not out.exists()
