"""Benchmark of the engine on this machine: prints figures, asserts nothing.

    .venv/bin/python scripts/bench_lifecycle.py            # or: make bench
    .venv/bin/python scripts/bench_lifecycle.py --keep     # keep the temporary clone for inspection

Measures, in a fresh `git clone` of this repository (committed files only, empty state):
1. `aip run` from an empty state: total wall time and seconds per step (targets: <= 300 s both models);
2. `aip run` again with nothing changed (target: <= 30 s, trains and registers nothing);
3. `aip --help` (median of 7; target: <= 1 s);
4. peak memory: the whole `aip run` process (max RSS) and the text model's training (logged by the run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AIP = [sys.executable, "-m", "pipelines"]
TARGETS = {"first": 300.0, "second": 30.0, "help": 1.0}


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc


def run_with_summary(clone: Path, env: dict[str, str], name: str) -> tuple[float, dict]:
    out = clone / f"{name}.json"
    print(f"... aip run ({name})", flush=True)
    seconds, proc = timed([*AIP, "run", "--summary-json", str(out)], clone, env)
    if proc.returncode != 0:
        print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n")
        raise SystemExit(f"aip run ({name}) failed with exit code {proc.returncode}")
    print(proc.stdout)
    return seconds, json.loads(out.read_text())


def text_training_peak_mb(clone: Path) -> float | None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{clone / '.aip' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("aip/topic-classifier")
    if experiment is None:
        return None
    runs = client.search_runs([experiment.experiment_id], "tags.`aip.step` = 'train'")
    return max((r.data.metrics.get("peak_rss_mb", 0.0) for r in runs), default=None)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="aip-bench-"))
    clone = workdir / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {**os.environ, "AIP_REPO": str(clone)}
    env.pop("AIP_TRACKING_URI", None)
    try:
        first_s, first = run_with_summary(clone, env, "first")
        first_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        second_s, second = run_with_summary(clone, env, "second")
        helps = [timed([str(Path(sys.executable).parent / "aip"), "--help"], clone, env)[0] for _ in range(7)]
        peak_text = text_training_peak_mb(clone)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    def row(label: str, value: float, target: float | None = None, unit: str = "s") -> str:
        tail = f"   target <= {target:g}{unit}   {value / target:.2f}x of target" if target else ""
        digits = 3 if abs(value) < 1 else 1
        return f"{label:<44}{value:>9.{digits}f}{unit}{tail}"

    print("\n== aip benchmark ==", f"(cpu count {os.cpu_count()}, python {sys.version.split()[0]})")
    print(row("aip run, empty state, both models", first_s, TARGETS["first"]))
    for key, value in first["seconds"].items():
        print(row(f"  {key}", value))
    for model in first["models"]:
        for step, value in model["seconds"].items():
            print(row(f"  {model['model']}: {step}", value))
    print(row("aip run again, nothing changed", second_s, TARGETS["second"]))
    statuses = {m["model"]: m["status"] for m in second["models"]}
    print(f"{'  statuses':<44}{statuses}")
    print(row("aip --help (median of 7)", statistics.median(helps), TARGETS["help"]))
    print(row("peak RSS, whole first aip run", first_rss_mb, unit=" MB"))
    if peak_text is not None:
        print(row("peak RSS, text model training", peak_text, unit=" MB"))
    ok = first["ok"] and second["ok"] and set(statuses.values()) == {"up-to-date"}
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
