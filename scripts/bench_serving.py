"""Serving benchmark: `aip serve` vs in-process, mlflow models serve, LitServe and KServe.

    .venv/bin/python scripts/bench_serving.py                        # topic-classifier, 16 clients, 20 s each
    .venv/bin/python scripts/bench_serving.py --modes inprocess,rest --duration 5
    .venv/bin/python scripts/bench_serving.py --runtimes torch,onnx-int8 --output docs/benchmarks/serving-x

Same as `aip bench serving` (pipelines/bench/serving.py; docs/benchmarks/README.md). Needs the model
registered (`aip run MODEL`), the bench venv for the litserve/kserve modes (`make bench-venv`) and the
`grpc` extra for the gRPC mode. CPU here; on a GPU runner the servers use the model's device.
"""

from __future__ import annotations

import sys

from pipelines.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["bench", "serving", *sys.argv[1:]]))
