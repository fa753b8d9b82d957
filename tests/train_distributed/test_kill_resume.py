"""`aip train` killed with SIGKILL mid-run, re-run with the same command: it continues the same MLflow
run from its last checkpoint and ends with the weights an uninterrupted run of the fingerprint has."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from pipelines.registry.loader import ARTIFACT_KEY
from tests.support.cli import AIP, run_aip
from tests.support.repo import copy_state, edit_yaml

MODEL = "tumor-classifier"


def _ready(root: Path) -> None:
    """Longer training, frequent checkpoints; the feature store's offline file if the dataset reads one."""

    def change(data):  # ~12 steps an epoch: 1200 steps, a checkpoint every 20
        data["training"]["epochs"] = 100
        data.setdefault("environments", {}).setdefault("local", {})["training"] = {
            "checkpoint_every_steps": 20
        }

    edit_yaml(root / "models" / MODEL / "model.yaml", change)
    dataset = (root / "datasets" / "breast-cancer" / "dataset.yaml").read_text()
    if "\nfeatures:" in dataset and not (root / "datasets" / "breast-cancer" / "data" / "features").exists():
        result = run_aip(root, "features", "export", "breast-cancer", timeout=300)
        assert result.returncode == 0, result.stderr


def _checkpoint(root: Path, after_step: int) -> Path | None:
    found = sorted((root / ".aip" / "work" / MODEL).glob("*/checkpoints/step-*/manifest.json"))
    steps = [p.parent for p in found if int(p.parent.name.split("-")[1]) >= after_step]
    return steps[-1] if steps else None


def _weights(root: Path) -> dict[str, torch.Tensor]:
    (artifact,) = (root / ".aip" / "work" / MODEL).glob(f"*/{ARTIFACT_KEY}/model.safetensors")
    return load_file(str(artifact))


@pytest.mark.slow
@pytest.mark.integration
def test_a_killed_training_resumes_from_its_checkpoint_and_ends_bit_identical(prepared_root, tmp_path):
    root = copy_state(prepared_root, tmp_path / "repo")
    _ready(root)
    env = {**os.environ, "AIP_REPO": str(root)}
    log = tmp_path / "killed.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*AIP, "train", MODEL], cwd=root, env=env, start_new_session=True, stdout=out, stderr=out
        )
    deadline = time.monotonic() + 240
    while _checkpoint(root, after_step=100) is None:
        assert proc.poll() is None, f"training ended before it could be killed:\n{log.read_text()}"
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.05)
    time.sleep(0.5)  # let the upload of that checkpoint to the run finish (the previous one is kept anyway)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = _checkpoint(root, after_step=0)
    assert killed_at is not None
    killed_run = (killed_at.parent / "run_id").read_text()

    resumed = run_aip(root, "train", MODEL, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stderr, resumed.stderr
    assert f"(run {killed_run})" in resumed.stdout  # the same MLflow run, continued
    weights_resumed = _weights(root)

    again = run_aip(root, "train", MODEL, "--force", "--no-resume", timeout=600)
    assert again.returncode == 0, again.stderr
    assert "resuming" not in again.stderr
    assert resumed.stdout.split("fingerprint ")[1][:12] == again.stdout.split("fingerprint ")[1][:12]
    weights_again = _weights(root)
    assert weights_resumed.keys() == weights_again.keys()
    assert all(torch.equal(weights_resumed[k], weights_again[k]) for k in weights_again)
