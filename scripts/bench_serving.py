"""Serving benchmark: in-process forward vs `aip serve` (REST, gRPC) vs `mlflow models serve`.

    .venv/bin/python scripts/bench_serving.py                       # topic-classifier, 16 clients, 20 s each
    .venv/bin/python scripts/bench_serving.py --model tumor-classifier --modes inprocess,rest --duration 10
    .venv/bin/python scripts/bench_serving.py --output bench.json   # also write the figures as JSON

Same as `aip bench serving`; needs the model registered (`aip run MODEL`), the `grpc` extra for the
gRPC mode, and runs on CPU (GPU: the same command on a GPU runner; the server uses the model's device).
"""

from __future__ import annotations

import sys

from pipelines.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["bench", "serving", *sys.argv[1:]]))
