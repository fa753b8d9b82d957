"""Benchmarks that measure the platform against the tools a user would pick instead.

`aip bench serving` (pipelines.bench.serving): `aip serve` vs in-process, `mlflow models serve`,
LitServe and KServe under one closed-loop load generator (pipelines.bench._load). The LitServe and
KServe servers (`_litserve_app`, `_kserve_app`) run in the bench venv (`make bench-venv`).
"""

from pipelines.bench.serving import MODES, BenchError, BenchOptions, ModeResult, run_benchmark

__all__ = ["MODES", "BenchError", "BenchOptions", "ModeResult", "run_benchmark"]
