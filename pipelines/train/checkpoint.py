"""Training checkpoints: everything needed to continue a killed run exactly where it stopped.

A checkpoint is a folder `step-NNNNNNNN/` written after an optimiser step:

    model.safetensors   the weights now            best.safetensors   the best epoch's weights so far
    optimizer.pt        AdamW + LR scheduler state (tensors and numbers only: loaded weights_only)
    rng.pt              every rank's RNG states (torch, CUDA, numpy, python) and the data order's
                        generator at the start of the epoch
    state.json          progress: epoch, micro-batches done in it, optimiser steps, history so far,
                        best epoch, world size, accumulation
    manifest.json       sha256 of each file above; written last, so a folder without it is unfinished

Same seed, same world size, same machine: a resumed run ends with the weights an uninterrupted run
has (data position and RNG state are restored). A file that is missing or does not match its hash is
a `CheckpointCorrupt` naming it, never a silent restart.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import AipError

if TYPE_CHECKING:
    import torch

__all__ = [
    "CHECKPOINT_TAG",
    "ArtifactSlots",
    "CheckpointCorrupt",
    "CheckpointMismatch",
    "Progress",
    "capture_rng",
    "latest_checkpoint",
    "load_checkpoint",
    "restore_rng",
    "save_checkpoint",
    "verify_checkpoint",
]

CHECKPOINT_TAG = "aip.checkpoint"  # on a training run: the artifact path of its newest complete checkpoint

MANIFEST = "manifest.json"
_FILES = ("model.safetensors", "optimizer.pt", "rng.pt", "state.json")
_FORMAT = 1
_START_OVER = "start over with `aip train MODEL --no-resume` (the unfinished run stays in MLflow, unused)"


class CheckpointCorrupt(AipError):
    """A checkpoint file is missing, truncated or does not match its recorded hash."""


class CheckpointMismatch(AipError):
    """A checkpoint from another world size or accumulation than this run's."""


@dataclass
class Progress:
    """Where training stood when the checkpoint was written."""

    epoch: int
    """1-based epoch in progress."""
    batches_done: int
    """Micro-batches of `epoch` already trained on (by each rank)."""
    global_step: int
    """Optimiser steps so far."""
    world_size: int
    accumulation: int
    loss_sum: float
    n_seen: int
    history: list[dict[str, float]] = field(default_factory=list)
    best_f1: float = -1.0
    best_epoch: int = 0


@dataclass
class Loaded:
    progress: Progress
    model_state: dict[str, torch.Tensor]
    best_state: dict[str, torch.Tensor] | None
    optimizer_state: dict[str, Any]
    scheduler_state: dict[str, Any]
    rng: list[dict[str, Any]]
    """Per rank."""
    epoch_generator: torch.Tensor | None


def capture_rng() -> dict[str, Any]:
    """This process's RNG states as tensors and plain numbers (safe for weights_only loading)."""
    import numpy as np
    import torch

    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        # this process's device only: touching every GPU would put a context on each from every rank
        "cuda": [torch.cuda.get_rng_state()] if torch.cuda.is_initialized() else [],  # type: ignore[no-untyped-call]
        "numpy": [
            str(name),
            torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            int(pos),
            int(has_gauss),
            float(cached),
        ],
        "python": [int(version), list(internal), gauss],
    }


def restore_rng(state: dict[str, Any]) -> None:
    import numpy as np
    import torch

    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"][0])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tensors(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous() for k, v in state.items()}


def save_checkpoint(
    folder: Path,
    progress: Progress,
    *,
    model_state: dict[str, torch.Tensor],
    best_state: dict[str, torch.Tensor] | None,
    optimizer_state: dict[str, Any],
    scheduler_state: dict[str, Any],
    rng: list[dict[str, Any]],
    epoch_generator: torch.Tensor | None,
) -> Path:
    """Write `folder/step-NNNNNNNN/` atomically (a temporary folder renamed), drop older ones; its path."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step-{progress.global_step:08d}"
    tmp = folder / f".{final.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(_tensors(model_state), str(tmp / "model.safetensors"))
    files = list(_FILES)
    if best_state is not None:
        save_file(_tensors(best_state), str(tmp / "best.safetensors"))
        files.append("best.safetensors")
    torch.save({"optimizer": optimizer_state, "scheduler": scheduler_state}, tmp / "optimizer.pt")
    torch.save({"ranks": rng, "epoch_generator": epoch_generator}, tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps({"format": _FORMAT, **progress.__dict__}, indent=1))
    manifest = {"format": _FORMAT, "files": {name: _sha256(tmp / name) for name in sorted(files)}}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in folder.glob("step-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest finished checkpoint under `folder` (one with a manifest), if any."""
    done = sorted(p for p in folder.glob("step-*") if (p / MANIFEST).is_file()) if folder.is_dir() else []
    return done[-1] if done else None


class ArtifactSlots:
    """Where the next checkpoint goes in the run's artifact store: `checkpoints/a` and `checkpoints/b`
    in turn, never the one the run's CHECKPOINT_TAG points at. The tag moves only after an upload
    completes, so a kill mid-upload leaves the previous checkpoint intact, and a run stores two."""

    def __init__(self, root: str = "checkpoints", current: str | None = None) -> None:
        self.root = root
        self.current = current

    def next(self) -> str:
        a, b = f"{self.root}/a", f"{self.root}/b"
        self.current = b if self.current == a else a
        return self.current


def verify_checkpoint(path: Path) -> None:
    """CheckpointCorrupt naming the first missing or altered file of the checkpoint folder `path`."""
    _verified(path)


def _verified(path: Path) -> dict[str, str]:
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
        files: dict[str, str] = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointCorrupt(f"checkpoint {manifest_path} is unreadable ({exc}); {_START_OVER}") from None
    for name, expected in files.items():
        file = path / name
        if not file.is_file():
            raise CheckpointCorrupt(f"checkpoint file {file} is missing; {_START_OVER}")
        if _sha256(file) != expected:
            raise CheckpointCorrupt(
                f"checkpoint file {file} does not match its sha256 in {MANIFEST} (truncated or "
                f"overwritten); {_START_OVER}"
            )
    return files


def load_checkpoint(path: Path, *, world_size: int, accumulation: int) -> Loaded:
    """Read and verify a checkpoint folder; CheckpointCorrupt / CheckpointMismatch say what is wrong."""
    import torch
    from safetensors.torch import load_file

    files = _verified(path)
    try:
        raw = json.loads((path / "state.json").read_text())
        raw.pop("format", None)
        progress = Progress(**raw)
        model_state = load_file(str(path / "model.safetensors"))
        best_state = load_file(str(path / "best.safetensors")) if "best.safetensors" in files else None
        opt = torch.load(path / "optimizer.pt", weights_only=True)
        rng = torch.load(path / "rng.pt", weights_only=True)
    except Exception as exc:  # a hash-valid file that still does not parse: written by another version
        raise CheckpointCorrupt(f"checkpoint {path} cannot be read ({exc}); {_START_OVER}") from None
    if (progress.world_size, progress.accumulation) != (world_size, accumulation):
        raise CheckpointMismatch(
            f"checkpoint {path} was written by {progress.world_size} process(es) with gradient accumulation "
            f"{progress.accumulation}; this run has {world_size} and {accumulation}: resume with the same "
            f"settings, or {_START_OVER}"
        )
    return Loaded(
        progress,
        model_state,
        best_state,
        opt["optimizer"],
        opt["scheduler"],
        rng["ranks"],
        rng["epoch_generator"],
    )
