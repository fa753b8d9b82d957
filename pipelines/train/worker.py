"""One torchrun worker: `python -m torch.distributed.run ... -m pipelines.train.worker JOB.json`.

Started by pipelines/train/launch.py, never by hand. Joins the process group, trains its share with
`train_model`, and on rank 0 only: logs epoch metrics and checkpoints to the parent's MLflow run
(`MLFLOW_TRACKING_URI` + the job's run id), writes the artifact folder and the result file the parent
turns into its TrainResult. Any exception exits non-zero, which makes torchrun stop the other ranks.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

__all__ = ["main"]


def main(argv: list[str]) -> int:
    import pandas as pd

    from pipelines.config import DatasetConfig, TabularClassifierConfig, TextClassifierConfig
    from pipelines.train.distributed import Distributed
    from pipelines.train.loop import Checkpointing
    from pipelines.train.tracking import checkpoint_uploader, metrics_logger
    from pipelines.train.trainer import Parallel, train_model

    job = json.loads(Path(argv[0]).read_text())
    cuda = job["device"].startswith("cuda")
    dist = Distributed.from_env(cuda, job["timeout_seconds"])
    try:
        kind = TextClassifierConfig if job["task"] == "text-classification" else TabularClassifierConfig
        config = kind.model_validate(job["config"])
        dataset = DatasetConfig.model_validate(job["dataset"])
        train_df = pd.read_pickle(job["train_frame"])  # written by our parent process, same user
        val_df = pd.read_pickle(job["val_frame"])
        log_metrics, on_checkpoint = None, None
        if dist.is_main and job["run_id"] is not None:
            log_metrics = metrics_logger(job["run_id"])
            on_checkpoint = checkpoint_uploader(job["run_id"], job["checkpoint_current"])
        checkpoints = None
        if job["checkpoint_dir"] is not None:
            checkpoints = Checkpointing(
                Path(job["checkpoint_dir"]),
                job["checkpoint_every_steps"],
                on_checkpoint,
                Path(job["resume_from"]) if job["resume_from"] else None,
            )
        parallel = Parallel(dist, job["accumulation"], job["lr_scaling"], checkpoints)
        device = f"cuda:{dist.local_rank}" if cuda else "cpu"
        result = train_model(
            config,
            dataset,
            train_df,
            val_df,
            Path(job["out_dir"]),
            log_metrics=log_metrics,
            device=device,
            parallel=parallel,
        )
        if dist.is_main:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            out = {
                "artifact_dir": str(result.artifact_dir),
                "history": result.history,
                "best_epoch": result.best_epoch,
                "device": result.device,
                "params": result.params,
                "seconds": result.seconds,
                "peak_rss_mb": peak,
            }
            tmp = Path(job["result_file"] + ".partial")
            tmp.write_text(json.dumps(out))
            tmp.rename(job["result_file"])
        dist.barrier()
    finally:
        dist.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
