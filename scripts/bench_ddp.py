"""1 process vs N processes (torchrun/DDP) of `aip train`: wall time, validation and gated test metrics.

    AIP_REPO=/path/to/prepared/copy .venv/bin/python scripts/bench_ddp.py topic-classifier --nproc 2

Runs the real CLI in the repo AIP_REPO points at (its datasets prepared: `aip data prepare`):
`aip train MODEL --force` (1 process), `aip evaluate MODEL`, then the same with --nproc-per-node N,
and prints one line per world size. Each `aip evaluate` reports the gates; both runs should pass
them (docs/distributed-training.md has the figures measured here). Trains twice: minutes on CPU.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

AIP = [sys.executable, "-m", "pipelines"]


def _run(args: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run([*AIP, *args], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1) or (args[0] == "train" and proc.returncode != 0):
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"`aip {' '.join(args)}` exited {proc.returncode}")
    return seconds, proc.stdout + proc.stderr


def _val(output: str) -> str:
    epochs = [line for line in output.splitlines() if line.startswith("epoch ")]
    return epochs[-1].split(":", 1)[1].strip() if epochs else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="topic-classifier")
    parser.add_argument("--nproc", type=int, default=2, help="processes of the distributed run (default 2)")
    args = parser.parse_args()
    if "AIP_REPO" not in os.environ:
        print("set AIP_REPO to a repo whose datasets are prepared", file=sys.stderr)
        return 2
    rows = []
    for n in (1, args.nproc):
        extra = ["--nproc-per-node", str(n)] if n > 1 else []
        print(f"training {args.model} with {n} process(es)...", file=sys.stderr, flush=True)
        seconds, out = _run(["train", args.model, "--force", *extra])
        _, report = _run(["evaluate", args.model])
        summary = report.splitlines()
        start = next((i for i, line in enumerate(summary) if line.startswith("evaluation ")), len(summary))
        gates = [line.strip() for line in summary[start:] if line.strip()]
        rows.append((n, seconds, _val(out), gates))
    for n, seconds, val, gates in rows:
        print(f"processes={n}  wall={seconds:.1f}s  last epoch: {val}")
        for line in gates:
            print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
