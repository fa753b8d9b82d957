"""LitServe serving an aip artifact, for `aip bench serving` (runs in the bench venv, make bench-venv).

    .venv-bench/bin/python -m pipelines.bench._litserve_app --artifact DIR --model M --version V --port 8000

LitServe's own dynamic batching (LitAPI max_batch_size / batch_timeout, set from model.yaml's
batching), `workers_per_device` worker processes on the CPU, ZeroMQ queues (`fast_queue`, LitServe's
advice above ~100 requests/s). POST /predict takes aip serve's :predict body and answers its JSON.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import litserve as ls

from pipelines.bench._apps import BenchModel, parse_args


class AipLitAPI(ls.LitAPI):  # type: ignore[misc]
    """Module level: LitServe pickles the API into each worker process (spawn)."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(max_batch_size=args.max_batch_size, batch_timeout=args.batch_timeout)
        self.args = args

    def setup(self, device: str) -> None:
        self.model = BenchModel(self.args)  # in each worker process

    # No annotation on purpose: LitServe builds the endpoint from it, and only an unannotated
    # `request` gets the parsed JSON body.
    def decode_request(self, request) -> Any:  # type: ignore[no-untyped-def]
        return self.model.decode(request)

    def batch(self, inputs: list[Any]) -> list[Any]:
        return inputs  # a list of per-request rows: forward() concatenates them

    def predict(self, x: Any) -> Any:
        return self.model.forward(x if self.max_batch_size > 1 else [x])

    def unbatch(self, output: Any) -> list[Any]:
        return list(output)

    def encode_response(self, output: Any) -> dict[str, Any]:
        proba = output[0] if isinstance(output, list) else output  # unbatched: one request's matrix
        return self.model.encode(proba)


def main(argv: list[str] | None = None) -> None:
    args = parse_args("LitServe serving an aip artifact (aip bench serving)", argv)
    server = ls.LitServer(
        AipLitAPI(args), accelerator="cpu", workers_per_device=args.workers, timeout=120, fast_queue=True
    )
    server.run(
        host="127.0.0.1", port=args.port, num_api_servers=1, generate_client_file=False, log_level="warning"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
