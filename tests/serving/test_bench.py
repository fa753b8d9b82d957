"""`aip bench serving` on a short real run: the figures hold together and every mode served the same,
pinned version (the alias points at version 1; the benchmark is asked for version 2)."""

from __future__ import annotations

import json
import math
import os

import pytest

from tests.support.cli import run_aip
from tests.support.repo import REPO_ROOT
from tests.support.serve import MODEL

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BENCH_PYTHON = REPO_ROOT / ".venv-bench" / "bin" / "python"  # `make bench-venv` (a prerequisite of make test)


def test_bench_figures_are_consistent_and_every_mode_served_the_pinned_version(served_repo, tmp_path):
    assert BENCH_PYTHON.is_file(), "the bench venv is missing: run `make bench-venv`"
    out = tmp_path / "bench"
    result = run_aip(
        served_repo, "bench", "serving", "--model", MODEL, "--version", "2", "--clients", "4",
        "--duration", "3", "--modes", "inprocess,rest,mlflow,litserve,kserve", "--runtimes", "torch,onnx",
        "--bench-python", str(BENCH_PYTHON), "--output", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    document = json.loads(out.with_suffix(".json").read_text())
    results = document["results"]
    assert [(r["mode"], r["runtime"]) for r in results] == [
        ("inprocess", "torch"),
        ("inprocess", "onnx"),
        ("rest", "torch"),
        ("rest", "onnx"),
        ("mlflow", "torch (mlflow pyfunc)"),
        ("litserve", "torch"),  # model.yaml's runtime for the tabular model
        ("kserve", "torch"),
    ]
    for r in results:
        where = f"{r['mode']} [{r['runtime']}]"
        assert r["ok"] + r["errors"] == r["sent"], where
        assert r["ok"] > 0 and r["errors"] == 0, (where, r["first_error"])
        assert r["version"] == "2", where  # what the answers said (mlflow: the models:/M/2 it was started on)
        assert r["rows_per_s"] == pytest.approx(r["ok"] * r["rows_per_request"] / r["seconds"]), where
        # Little's law for a closed loop without think time: rate = concurrency / mean latency.
        littles = r["concurrency"] * r["rows_per_request"] / (r["mean_ms"] / 1000)
        assert littles == pytest.approx(r["rows_per_s"], rel=0.25), where
        assert r["p50_ms"] <= r["p99_ms"], where
    inprocess = [r for r in results if r["mode"] == "inprocess"]
    for r in inprocess:
        assert r["rows_per_request"] == math.ceil(4 / r["concurrency"])  # as many rows in flight as clients
        assert 0.8 <= r["accuracy"] <= 1.0  # the tumor model on its test split
    assert inprocess[1]["accuracy"] == inprocess[0]["accuracy"]  # fp32 ONNX: the same predictions
    rest = [r for r in results if r["mode"] == "rest"]
    assert all(r["mean_batch_rows"] >= 1 for r in rest)  # read from the server's own batch-size histogram
    meta = document["meta"]
    assert meta["version"] == "2" and meta["clients"] == 4 and meta["machine"]["cores"] == os.cpu_count()
    assert {"torch", "mlflow", "litserve", "kserve", "onnxruntime"} <= set(meta["versions"])
    table = out.with_suffix(".md").read_text()
    assert "| mode | server | runtime | version | rows/s |" in table and table in result.stdout


def test_bench_refuses_unknown_modes_and_runtimes(served_repo):
    result = run_aip(served_repo, "bench", "serving", "--model", MODEL, "--modes", "warp")
    assert result.returncode == 1 and "unknown mode(s) warp" in result.stderr
    result = run_aip(served_repo, "bench", "serving", "--model", MODEL, "--runtimes", "tensorrt")
    assert result.returncode == 1 and "unknown runtime(s) tensorrt" in result.stderr
