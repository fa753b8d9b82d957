"""Start training in this process, or in N processes under torchrun, and wait for its result.

    plan = LaunchPlan.from_settings(model_config.environment("dev").training, nproc_per_node=2)
    plan.check(device=None)       # bad world size / missing endpoint: an error before anything starts
    result = train(plan, config, dataset, train_df, val_df, out_dir, run_id=..., checkpoints=...)

World size 1 calls `train_model` here, unchanged. World size > 1 writes the job (configs, frames) to
the work folder and runs PyTorch's own launcher, `python -m torch.distributed.run ... -m
pipelines.train.worker JOB` (never a scheduler of ours): rank 0 logs epoch metrics and checkpoints
to the caller's MLflow run and writes the artifact folder and a result file, which become this
call's TrainResult. A worker that fails, or a rendezvous that does not complete within
`rdzv_timeout_seconds`, is a clear `TrainingLaunchFailed`; nothing is returned, so the caller logs no
model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipelines.errors import AipError
from pipelines.train.trainer import Parallel, TrainResult, train_model

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.config import DatasetConfig, TabularClassifierConfig, TextClassifierConfig
    from pipelines.config.model import DistributedTraining

__all__ = ["LaunchPlan", "TrainingLaunchFailed", "WorldTooLarge", "train"]

_TAIL_LINES = 40  # of the workers' output, repeated in the error when they fail
# A worker's exception line, as torchrun echoes it ("[rank0]: ValueError: ..."); not torchrun's own.
_CAUSE = re.compile(
    r"^(?:\[rank(\d+)\]:\s*)?((?:[\w.]+\.)?\w+(?:Error|Exception|Corrupt|Mismatch|Failed)): (.+)$"
)
_RENDEZVOUS_ERRORS = (
    "RendezvousConnectionError",
    "RendezvousTimeoutError",
    "DistStoreError",
    "RendezvousError",
)


class WorldTooLarge(AipError):
    """More processes per node than this machine has devices (GPUs, or CPU cores)."""


class TrainingLaunchFailed(AipError):
    """torchrun or one of its workers failed; the message has the exit code and the last lines."""


@dataclass(frozen=True)
class LaunchPlan:
    """How many processes train, where they meet, and how they step (see DistributedTraining)."""

    nproc_per_node: int = 1
    nnodes: int = 1
    node_rank: int = 0
    rdzv_endpoint: str | None = None
    rdzv_timeout_seconds: int = 60
    gradient_accumulation_steps: int = 1
    lr_scaling: Literal["none", "linear", "sqrt"] = "none"
    checkpoint_every_steps: int = 200

    @property
    def world_size(self) -> int:
        return self.nproc_per_node * self.nnodes

    @classmethod
    def from_settings(cls, settings: DistributedTraining, **overrides: Any) -> LaunchPlan:
        """model.yaml's `environments.<env>.training`, with the CLI's flags (None = not given) on top."""
        plan = cls(**settings.model_dump())
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(plan, **given)

    def check(self, device: str | None) -> str:
        """The device kind the workers use (`cuda` or `cpu`); an error when the plan cannot run here."""
        import torch

        cuda = (device is None and torch.cuda.is_available()) or (device or "").startswith("cuda")
        if self.node_rank < 0 or self.node_rank >= self.nnodes:
            raise WorldTooLarge(
                f"--node-rank {self.node_rank} is outside 0..{self.nnodes - 1} (--nnodes {self.nnodes})"
            )
        if self.nnodes > 1 and not self.rdzv_endpoint:
            raise TrainingLaunchFailed(
                f"--nnodes {self.nnodes} needs --rdzv-endpoint HOST:PORT (node 0's address, reachable from "
                "every node), or environments.<env>.training.rdzv_endpoint in model.yaml"
            )
        if cuda:
            have = torch.cuda.device_count()
            if self.nproc_per_node > have:
                raise WorldTooLarge(
                    f"--nproc-per-node {self.nproc_per_node} asks for one GPU per process, but this machine "
                    f"has {have} CUDA device(s); use --nproc-per-node {have} or fewer"
                )
        else:
            cores = os.cpu_count() or 1
            if self.nproc_per_node > cores:
                raise WorldTooLarge(
                    f"--nproc-per-node {self.nproc_per_node} asks for more CPU processes than this machine's "
                    f"{cores} core(s); use --nproc-per-node {cores} or fewer"
                )
        return "cuda" if cuda else "cpu"

    def params(self) -> dict[str, Any]:
        """The launch facts worth a run param (the trainer logs world size and batch sizes itself)."""
        return {"nproc_per_node": self.nproc_per_node, "nnodes": self.nnodes}

    def torchrun_args(self, run_key: str) -> list[str]:
        """`torch.distributed.run` options: one node on a free local port, or a c10d rendezvous that
        node 0 hosts at `rdzv_endpoint`; bounded timeouts, no restarts (a retry is a re-run that resumes
        from the last checkpoint)."""
        args = ["--nproc-per-node", str(self.nproc_per_node), "--max-restarts", "0"]
        if self.nnodes == 1 and not self.rdzv_endpoint:
            return [*args, "--standalone"]
        t = self.rdzv_timeout_seconds
        host = str(self.node_rank == 0).lower()  # node 0 hosts the rendezvous store at the endpoint
        conf = f"join_timeout={t},read_timeout={t},last_call_timeout=1,is_host={host}"
        return [
            *args,
            "--nnodes",
            str(self.nnodes),
            "--node-rank",
            str(self.node_rank),
            "--rdzv-backend",
            "c10d",
            "--rdzv-endpoint",
            str(self.rdzv_endpoint),
            "--rdzv-id",
            run_key,
            "--rdzv-conf",
            conf,
        ]


@dataclass
class Job:
    """What a worker needs: written by the parent as JSON next to the frames (worker.py reads it)."""

    task: str
    config: dict[str, Any]
    dataset: dict[str, Any]
    train_frame: str
    val_frame: str
    out_dir: str
    result_file: str
    device: str
    run_id: str | None
    accumulation: int
    lr_scaling: Literal["none", "linear", "sqrt"]
    checkpoint_dir: str | None
    checkpoint_every_steps: int
    checkpoint_current: str | None
    resume_from: str | None
    timeout_seconds: int


def train(
    plan: LaunchPlan,
    config: TextClassifierConfig | TabularClassifierConfig,
    dataset: DatasetConfig,
    train_df: pd.DataFrame,
    val_df: pd.DataFrame,
    out_dir: Path,
    *,
    work_dir: Path,
    run_id: str | None,
    log_metrics: Callable[[dict[str, float], int], None] | None,
    checkpoint_dir: Path | None,
    resume_from: Path | None = None,
    checkpoint_current: str | None = None,
    device: str | None = None,
) -> TrainResult:
    """Train per `plan`: here for one process, under torchrun otherwise (see the module docstring).

    `run_id`: the MLflow run that gets checkpoints (and, from torchrun's rank 0, the epoch metrics;
    here `log_metrics` does that); `checkpoint_dir`: local checkpoints (None: none);
    `resume_from`: a verified checkpoint folder; `checkpoint_current`: the run's checkpoint slot."""
    from pipelines.train.loop import Checkpointing
    from pipelines.train.tracking import checkpoint_uploader

    kind = plan.check(device)
    every = plan.checkpoint_every_steps if checkpoint_dir is not None else 0
    if plan.world_size == 1:
        upload = checkpoint_uploader(run_id, checkpoint_current) if run_id is not None else None
        checkpoints = (
            Checkpointing(checkpoint_dir, every, upload, resume_from) if checkpoint_dir is not None else None
        )
        parallel = Parallel(None, plan.gradient_accumulation_steps, plan.lr_scaling, checkpoints)
        result = train_model(
            config,
            dataset,
            train_df,
            val_df,
            out_dir,
            log_metrics=log_metrics,
            device=device,
            parallel=parallel,
        )
        result.params.update(plan.params())
        return result
    job_dir = work_dir / "job"
    job_dir.mkdir(parents=True, exist_ok=True)
    train_df.to_pickle(job_dir / "train.pkl")
    val_df.to_pickle(job_dir / "validation.pkl")
    result_file = job_dir / "result.json"
    result_file.unlink(missing_ok=True)
    job = Job(
        task=config.task,
        config=config.model_dump(mode="json"),
        dataset=dataset.model_dump(mode="json"),
        train_frame=str(job_dir / "train.pkl"),
        val_frame=str(job_dir / "validation.pkl"),
        out_dir=str(out_dir),
        result_file=str(result_file),
        device=device or kind,
        run_id=run_id,
        accumulation=plan.gradient_accumulation_steps,
        lr_scaling=plan.lr_scaling,
        checkpoint_dir=str(checkpoint_dir) if checkpoint_dir is not None else None,
        checkpoint_every_steps=every,
        checkpoint_current=checkpoint_current,
        resume_from=str(resume_from) if resume_from is not None else None,
        timeout_seconds=plan.rdzv_timeout_seconds,
    )
    job_file = job_dir / "job.json"
    job_file.write_text(json.dumps(asdict(job), indent=1))
    _run_torchrun(plan, job_file, run_key=run_id or out_dir.parent.name)
    if plan.node_rank != 0:  # node 0 writes the artifact and the result; this node only trained
        return TrainResult(out_dir, [], 0, kind, {}, 0.0, 0.0)
    if not result_file.is_file():
        raise TrainingLaunchFailed(f"torchrun exited 0 but rank 0 wrote no result to {result_file}")
    data = json.loads(result_file.read_text())
    shutil.rmtree(job_dir, ignore_errors=True)  # the frames' copies: the result is read
    data["params"].update(plan.params())
    return TrainResult(
        artifact_dir=Path(data["artifact_dir"]),
        history=data["history"],
        best_epoch=data["best_epoch"],
        device=data["device"],
        params=data["params"],
        seconds=data["seconds"],
        peak_rss_mb=data["peak_rss_mb"],
    )


def _run_torchrun(plan: LaunchPlan, job_file: Path, run_key: str) -> None:
    """Run torchrun, echoing its output; on failure raise with the cause and the last lines."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        *plan.torchrun_args(run_key),
        "-m",
        "pipelines.train.worker",
        str(job_file),
    ]
    engine_root = str(Path(__file__).resolve().parents[2])  # the workers import this same engine
    path = os.pathsep.join(p for p in (engine_root, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
    import mlflow

    env["MLFLOW_TRACKING_URI"] = mlflow.get_tracking_uri()
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // plan.nproc_per_node)))
    print(
        f"torchrun: {plan.world_size} process(es) ({plan.nnodes} node(s) x {plan.nproc_per_node})",
        file=sys.stderr,
    )
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    causes: dict[str, str] = {}  # rank -> its exception line
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stderr.write(line)
            tail.append(line.rstrip("\n"))
            if (found := _CAUSE.match(line.strip())) and "ChildFailedError" not in found.group(2):
                causes.setdefault(
                    found.group(1) or "?", f"{found.group(2).rsplit('.', 1)[-1]}: {found.group(3)}"
                )
        code = proc.wait()
    if code == 0:
        return
    last = "\n".join(tail)
    if any(marker in last for marker in _RENDEZVOUS_ERRORS):
        raise TrainingLaunchFailed(
            f"the workers did not meet at rendezvous {plan.rdzv_endpoint} within "
            f"{plan.rdzv_timeout_seconds} s (exit {code}): is node 0 running and the port reachable "
            f"from this node? Last output:\n{last}"
        )
    if causes:
        why = "; ".join(f"rank {rank}: {cause}" for rank, cause in sorted(causes.items()))
        raise TrainingLaunchFailed(f"distributed training failed: torchrun exited {code}; {why}")
    raise TrainingLaunchFailed(f"distributed training failed: torchrun exited {code}; last output:\n{last}")
