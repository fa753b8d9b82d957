"""What the LitServe and KServe bench servers share: arguments, model loading, decoding, encoding.

Both load the artifact folder the benchmark downloaded from the registry through
`pipelines.artifacts.load` and the same runtime as `aip serve`, parse bodies with `aip serve`'s own
request code and answer its JSON, plus `model_version` so the benchmark can check what answered.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BenchModel", "parse_args"]


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--artifact", required=True, type=Path, help="the aip artifact folder (safetensors)")
    p.add_argument("--model", required=True, help="model name (KServe's URL, the answers)")
    p.add_argument("--version", required=True, help="registry version the artifact came from")
    p.add_argument(
        "--runtime", default="torch", help="torch | onnx | onnx-int8 (pipelines.artifacts.runtime)"
    )
    p.add_argument("--port", type=int, required=True, help="HTTP port on 127.0.0.1")
    p.add_argument("--workers", type=int, default=1, help="server processes, one model copy each")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads of one forward pass")
    p.add_argument("--cache-dir", type=Path, help="ONNX graphs built once per weights (aip serve's cache)")
    p.add_argument("--max-batch-size", type=int, default=32, help="LitServe: rows per batch")
    p.add_argument("--batch-timeout", type=float, default=0.002, help="LitServe: seconds to wait for a batch")
    args, _ = p.parse_known_args(argv)  # KServe parses its own flags from the same argv
    return args


class BenchModel:
    """The predictor on its runtime, with aip serve's request parsing and response encoding."""

    def __init__(self, args: argparse.Namespace) -> None:
        import torch

        from pipelines.artifacts import load
        from pipelines.artifacts.runtime import with_runtime

        torch.set_num_threads(args.threads)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.version = str(args.version)
        self.predictor = with_runtime(
            load(args.artifact), args.runtime, threads=args.threads, cache_dir=args.cache_dir
        )
        self.kind = self.predictor.kind
        self.labels = self.predictor.labels
        self.feature_names = self.predictor.feature_names

    def decode(self, body: Any) -> Any:
        """One request body -> its rows (a list of strings, or a float32 matrix)."""
        from pipelines.serving.protocol import parse_predict

        return parse_predict(body, self.kind, self.feature_names).payload

    def forward(self, payloads: Sequence[Any]) -> list[np.ndarray]:
        """Rows of several requests in one pass; one probability matrix per request."""
        sizes = [len(p) for p in payloads]
        if self.kind == "text":
            proba = self.predictor.predict_proba([t for p in payloads for t in p])
        else:
            import pandas as pd

            matrix = np.concatenate(list(payloads))
            proba = self.predictor.predict_proba(pd.DataFrame(matrix, columns=self.feature_names))
        return list(np.split(proba, np.cumsum(sizes)[:-1]))

    def encode(self, proba: np.ndarray) -> dict[str, Any]:
        from pipelines.serving.protocol import predict_response

        return {**predict_response(proba, self.labels, columnar=False), "model_version": self.version}
