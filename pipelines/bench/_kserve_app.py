"""KServe's Python model server serving an aip artifact, for `aip bench serving` (bench venv).

    .venv-bench/bin/python -m pipelines.bench._kserve_app --artifact DIR --model M --version V --port 8080

A `kserve.Model` subclass started by `kserve.ModelServer` (what an InferenceService's Python
predictor runs), the v1 protocol: POST /v1/models/M:predict with aip serve's :predict body. KServe's
Python server has no in-process batching (on Kubernetes the agent sidecar batches, configured by the
InferenceService's `batcher`), so each request is one forward pass; `--workers` uvicorn processes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pipelines.bench._apps import BenchModel, parse_args

# KServe parses its own flags from sys.argv when imported: hide ours from it.
_argv, sys.argv = sys.argv, sys.argv[:1]
import kserve  # noqa: E402

sys.argv = _argv


class AipKServeModel(kserve.Model):  # type: ignore[misc]
    """Module level: with --workers > 1 KServe pickles the model into each worker process."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args.model)
        self.args = args
        self.model: BenchModel | None = None

    def load(self) -> bool:
        self.model = BenchModel(self.args)
        self.ready = True
        return True

    # With --workers > 1 KServe pickles this object into spawned workers: an ORT session cannot be
    # pickled, so each worker loads its own copy (as each LitServe worker and aip serve replica does).
    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "model": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.model = BenchModel(self.args)

    def predict(self, payload: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
        assert self.model is not None  # load() ran before the server took requests
        (proba,) = self.model.forward([self.model.decode(payload)])
        return self.model.encode(proba)


def main(argv: list[str] | None = None) -> None:
    args = parse_args("KServe's Python model server serving an aip artifact (aip bench serving)", argv)
    model = AipKServeModel(args)
    model.load()
    kserve.ModelServer(http_port=args.port, workers=args.workers, enable_grpc=False).start([model])


if __name__ == "__main__":
    main(sys.argv[1:])
