"""Trials per minute of `aip tune` with 1 and 2 local workers on the tumor-classifier.

    .venv/bin/python scripts/bench_tune.py [--trials 12] [--workers 1 2] [--storage URL]

Each run is a fresh study (its own name) with model.yaml's search settings, on a throw-away MLflow
store and, unless --storage names a database (e.g. a Postgres URL), a throw-away SQLite study file.
The rate counts the trial phase only (the summary's `seconds`: from the first trial to the last), and
the wall time adds start-up (imports, MLflow, spawning workers). With more than one worker the TPE
seeds differ, so the trials (and how many get pruned) differ too: compare rates, not best values.
A script, not a test: the figures depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = "tumor-classifier"  # the tabular model: a trial is seconds, so the rate measures tuning itself


def run(trials: int, workers: int, storage: str | None, scratch: Path) -> dict[str, float]:
    study = f"bench-{workers}w-{int(time.time())}"
    out = scratch / f"{study}.json"
    env = {
        **os.environ,
        "AIP_TRACKING_URI": f"sqlite:///{scratch}/mlflow.db",
        "AIP_ARTIFACT_STORE": str(scratch / "artifacts"),
    }
    command = [sys.executable, "-m", "pipelines", "tune", MODEL, "--trials", str(trials)]
    command += ["--workers", str(workers), "--study", study, "--json", str(out)]
    command += ["--storage", storage or f"sqlite:///{scratch}/optuna.db"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"aip tune failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    result = json.loads(out.read_text())
    return {
        "workers": workers,
        "trials": result["n_trials"],
        "pruned": result["n_pruned"],
        "trial_seconds": result["seconds"],
        "wall_seconds": wall,
        "per_minute": 60 * result["n_trials"] / result["seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=12, help="trials per run (default 12)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    parser.add_argument("--storage", help="study storage URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    print(f"{MODEL}: {args.trials} trials per run, {os.cpu_count()} CPU(s)", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="aip-bench-tune-") as folder:
        # one untimed run of 1 trial first: creates the MLflow store and warms the file cache
        run(1, 1, args.storage, Path(folder))
        for workers in args.workers:
            row = run(args.trials, workers, args.storage, Path(folder))
            rows.append(row)
            print(
                f"  {workers} worker(s): {row['trials']:.0f} trials ({row['pruned']:.0f} pruned) in "
                f"{row['trial_seconds']:.1f} s = {row['per_minute']:.1f} trials/min "
                f"(wall {row['wall_seconds']:.1f} s with start-up)",
                flush=True,
            )
    if len(rows) > 1:
        print(
            f"ratio {rows[-1]['workers']:.0f} vs {rows[0]['workers']:.0f} workers: "
            f"{rows[-1]['per_minute'] / rows[0]['per_minute']:.2f}x trials/min"
        )


if __name__ == "__main__":
    main()
