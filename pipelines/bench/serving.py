"""Serving benchmark: one registered version, one closed loop of N clients, several servers.

    aip bench serving                                       # topic-classifier @ default env, 16 clients, 20 s
    aip bench serving --modes inprocess,rest --duration 5   # a quick look
    aip bench serving --runtimes torch,onnx --output docs/benchmarks/serving-topic-classifier
    python scripts/bench_serving.py --help                  # the same command

Modes (docs/benchmarks/README.md says more):
  inprocess     Predictor.predict_proba in this process: T threads (the model's num_batch_threads),
                each running batches of ceil(clients / T) rows, so as many rows are in flight as in
                the server modes. Reported as rows/s with the latency of each *batch*: the limit.
  rest, grpc    `aip serve --version V --runtime R`: TF Serving API, dynamic batching (model.yaml).
  mlflow        `mlflow models serve` as shipped: 1 worker, torch's default threads, no batching.
  mlflow-tuned  the same at its best here: a short sweep over --workers and OMP threads, then the
                best configuration for the full duration (the sweep is in the JSON).
  litserve      LitServe (LitAPI + LitServer) with the model's max_batch_size / batch_timeout.
  kserve        KServe's Python model server (kserve.Model + ModelServer, the v1 :predict API).
LitServe and KServe run in the bench venv (`make bench-venv`) and load the same artifact through
`pipelines.artifacts.load` + the same runtime, parse with the same request code, answer the same JSON.

Every server mode is started on the version under test and each answer's version is recorded; a
mode whose answers name another version fails the run. Throughput counts successes only.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.bench._load import Answer, LoopResult, Send, closed_loop, http_client
from pipelines.errors import AipError

if TYPE_CHECKING:
    from pipelines.artifacts import Predictor
    from pipelines.config.model import Batching
    from pipelines.repo.layout import Repo

__all__ = ["MODES", "BenchError", "BenchOptions", "ModeResult", "run_benchmark"]

WARMUP_S = 3.0  # first requests pay for lazy initialisation (allocator, tokenizer caches, ORT arenas)
START_TIMEOUT_S = 240.0  # server start-up: MLflow import, registry download, ONNX export
INPUT_POOL = 512  # distinct inputs cycled through by the clients
SWEEP_S = 5.0  # seconds per mlflow-tuned candidate (plus the warm-up)
MODES = ("inprocess", "rest", "grpc", "mlflow", "mlflow-tuned", "litserve", "kserve")
DEFAULT_MODES = ("inprocess", "rest", "mlflow", "mlflow-tuned", "litserve", "kserve")
# mlflow-tuned candidates: (uvicorn workers, torch threads per worker); as shipped is (1, cores).
MLFLOW_GRID = ((2, 1), (4, 1), (2, 2))


@dataclass
class BenchOptions:
    model: str = "topic-classifier"
    env: str | None = None
    version: str | None = None  # default: the version the environment alias points at
    clients: int = 16
    duration: float = 20.0
    modes: list[str] = field(default_factory=lambda: list(DEFAULT_MODES))
    runtimes: list[str] = field(default_factory=list)  # default: model.yaml's serving.runtime
    output: str | None = None  # path without suffix: writes .json and .md
    bench_python: str | None = None  # the bench venv's python (litserve, kserve)


@dataclass
class ModeResult:
    mode: str
    server: str  # what ran, in words
    runtime: str
    version: str  # the version the answers reported (checked equal across modes)
    concurrency: int  # client threads (server modes) or forward threads (inprocess)
    rows_per_request: int  # 1 for server modes; the batch size for inprocess
    sent: int
    ok: int
    errors: int
    seconds: float
    rows_per_s: float  # successes x rows_per_request / seconds
    mean_ms: float  # per request (per batch for inprocess), successes only
    p50_ms: float
    p99_ms: float
    rss_mb: float
    load_avg_start: float
    load_avg_end: float
    settings: dict[str, Any] = field(default_factory=dict)
    mean_batch_rows: float | None = None  # aip serve: from its batch-size histogram
    accuracy: float | None = None  # inprocess: on the test split, this runtime
    first_error: str = ""


class BenchError(AipError):
    """The benchmark could not run; the message says which step and why."""


# ---- inputs --------------------------------------------------------------------------------
def _inputs(repo: Repo, model: str, frame: Any) -> list[Any]:
    """Real inputs: the test split (texts or feature rows, as `aip deploy` replays them), sampled
    with a fixed seed."""
    from pipelines.data import model_inputs

    rng = random.Random(0)
    rows = model_inputs(repo, repo.model(model).dataset, frame)
    return [rng.choice(rows) for _ in range(INPUT_POOL)]


def _accuracy(repo: Repo, model: str, predictor: Predictor, frame: Any) -> float:
    dataset = repo.dataset(repo.model(model).dataset)
    label = dataset.label_column or "label"
    if predictor.kind == "text":
        inputs: Any = [str(t) for t in frame[dataset.text_column or "text"].tolist()]
    else:
        inputs = frame
    predicted = predictor.predict(inputs)
    truth = [str(y) for y in frame[label].tolist()]
    return float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)]))


# ---- measuring -----------------------------------------------------------------------------
def _result(
    mode: str,
    server: str,
    runtime: str,
    loop: LoopResult,
    *,
    concurrency: int,
    rows: int,
    rss: float,
    load_start: float,
    settings: dict[str, Any],
) -> ModeResult:
    ms = np.array(loop.latencies) * 1000 if loop.latencies else np.array([math.nan])
    versions = sorted(loop.versions)
    return ModeResult(
        mode=mode,
        server=server,
        runtime=runtime,
        version=",".join(versions),
        concurrency=concurrency,
        rows_per_request=rows,
        sent=loop.sent,
        ok=loop.ok,
        errors=loop.errors,
        seconds=loop.seconds,
        rows_per_s=loop.ok * rows / loop.seconds,
        mean_ms=float(ms.mean()),
        p50_ms=float(np.percentile(ms, 50)),
        p99_ms=float(np.percentile(ms, 99)),
        rss_mb=rss,
        load_avg_start=load_start,
        load_avg_end=os.getloadavg()[0],
        settings=settings,
        first_error=loop.first_error,
    )


def _rss_mb(pid: int) -> float:
    import psutil

    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
    except psutil.Error:
        return math.nan
    return round(float(total) / 2**20, 1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str, timeout: float = 5) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@contextlib.contextmanager
def _process(cmd: list[str], env: dict[str, str], port: int, ready: str, log: Path) -> Iterator[int]:
    """Start a server in its own process group, wait until GET `ready` answers 200, stop it after."""
    with log.open("wb") as handle:
        proc = subprocess.Popen(cmd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise BenchError(f"{' '.join(cmd[:4])} ... exited with {proc.returncode}; see {log}")
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"{' '.join(cmd[:4])} ... not ready in {START_TIMEOUT_S:.0f} s; see {log}"
                    )
                with contextlib.suppress(OSError, http.client.HTTPException):
                    if _get(port, ready, timeout=2)[0] == 200:
                        break
                time.sleep(0.3)
            yield proc.pid
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _body_version(_: http.client.HTTPResponse, data: bytes) -> str:
    return str(json.loads(data).get("model_version", "?"))


# ---- the run -------------------------------------------------------------------------------
@dataclass
class _Run:
    repo: Repo
    options: BenchOptions
    version: str
    predictor: Predictor  # torch, as loaded
    inputs: list[Any]
    frame: Any
    batching: Batching
    configured_runtime: str
    artifact: Path  # the registered artifact folder, for the servers in the bench venv
    env: dict[str, str]
    logs: Path
    progress: Callable[[str], None]
    sweeps: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def cores(self) -> int:
        return os.cpu_count() or 1

    def threads_per_forward(self) -> int:
        return max(1, self.cores // self.batching.num_batch_threads)

    def loop(self, make: Callable[[int], Send], duration: float | None = None) -> LoopResult:
        return closed_loop(self.options.clients, duration or self.options.duration, WARMUP_S, make)

    # ---- inprocess ---------------------------------------------------------------------------
    def inprocess(self, runtime: str) -> ModeResult:
        from pipelines.artifacts.runtime import with_runtime

        load_start = os.getloadavg()[0]
        threads = self.batching.num_batch_threads
        predictor = with_runtime(self.predictor, runtime, threads=self.threads_per_forward())
        accuracy = _accuracy(self.repo, self.options.model, predictor, self.frame)
        rows = math.ceil(self.options.clients / threads)
        batches: list[Any] = [self.inputs[i : i + rows] for i in range(0, len(self.inputs) - rows + 1, rows)]
        if predictor.kind != "text":
            import pandas as pd

            batches = [pd.DataFrame(b) for b in batches]
        version = self.version

        def make(k: int) -> Send:
            def send(i: int) -> Answer:
                predictor.predict_proba(batches[(i + k * 17) % len(batches)])
                return True, version

            return send

        # Worker threads, as the server's batcher runs the model: `threads` forwards at once.
        loop = closed_loop(threads, self.options.duration, WARMUP_S, make)
        result = _result(
            "inprocess",
            "Predictor.predict_proba in the bench process",
            runtime,
            loop,
            concurrency=threads,
            rows=rows,
            rss=_rss_mb(os.getpid()),
            load_start=load_start,
            settings={
                "threads": threads,
                "batch_rows": rows,
                "threads_per_forward": self.threads_per_forward(),
            },
        )
        result.accuracy = accuracy
        return result

    # ---- aip serve ---------------------------------------------------------------------------
    def _serve_cmd(self, runtime: str, rest: int, grpc: int) -> list[str]:
        cmd = [sys.executable, "-m", "pipelines", "serve", "--models", self.options.model]
        cmd += ["--version", self.version, "--runtime", runtime]
        cmd += ["--rest-port", str(rest), "--grpc-port", str(grpc)]
        return cmd + (["--env", self.options.env] if self.options.env else [])

    def _mean_batch_rows(self, port: int) -> float | None:
        status, text = _get(port, "/metrics")
        if status != 200:
            return None
        sums: dict[str, float] = {}
        for line in text.decode().splitlines():
            for key in ("_sum", "_count"):
                if (
                    line.startswith(f"aip_serving_batch_size{key}{{")
                    and f'model="{self.options.model}"' in line
                ):
                    sums[key] = sums.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
        return round(sums["_sum"] / sums["_count"], 2) if sums.get("_count") else None

    def _batching_settings(self) -> dict[str, Any]:
        return self.batching.model_dump()

    def rest(self, runtime: str) -> ModeResult:
        load_start = os.getloadavg()[0]
        port = _free_port()
        bodies = [json.dumps({"instances": [x]}).encode() for x in self.inputs]
        path = f"/v1/models/{self.options.model}/versions/{self.version}:predict"

        def header_version(response: http.client.HTTPResponse, _: bytes) -> str:
            return response.getheader("X-Model-Version") or "?"

        cmd = self._serve_cmd(runtime, port, 0)
        with _process(cmd, self.env, port, "/readyz", self.logs / f"rest-{runtime}.log") as pid:
            loop = self.loop(http_client(port, path, bodies, header_version))
            return self._served("rest", "aip serve (REST)", runtime, loop, pid, load_start, port)

    def _served(
        self, mode: str, server: str, runtime: str, loop: Any, pid: int, load_start: float, rest_port: int
    ) -> ModeResult:
        """The result of an `aip serve` mode, with the server's own mean batch size."""
        result = _result(
            mode,
            server,
            runtime,
            loop,
            concurrency=self.options.clients,
            rows=1,
            rss=_rss_mb(pid),
            load_start=load_start,
            settings=self._batching_settings(),
        )
        result.mean_batch_rows = self._mean_batch_rows(rest_port)
        return result

    def grpc(self, runtime: str) -> ModeResult:
        from pipelines.serving import quiet_stderr

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            with quiet_stderr():  # TensorFlow's start-up banner
                import grpc
                from tensorflow.core.framework import tensor_pb2, types_pb2
                from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
        except ImportError as exc:
            raise BenchError(f"grpc mode needs the `grpc` extra: pip install -e '.[grpc]' ({exc})") from None
        load_start = os.getloadavg()[0]
        rest, port = _free_port(), _free_port()

        def request(x: Any) -> Any:
            req = predict_pb2.PredictRequest()
            req.model_spec.name = self.options.model
            req.model_spec.version.value = int(self.version)
            items = {"text": [x]} if isinstance(x, str) else {k: [v] for k, v in x.items()}
            for key, values in items.items():
                tensor = tensor_pb2.TensorProto()
                tensor.tensor_shape.dim.add().size = 1
                if isinstance(values[0], str):
                    tensor.dtype = types_pb2.DT_STRING
                    tensor.string_val.extend(v.encode() for v in values)
                else:
                    tensor.dtype = types_pb2.DT_FLOAT
                    tensor.float_val.extend(values)
                req.inputs[key].CopyFrom(tensor)
            return req

        requests = [request(x) for x in self.inputs]
        cmd = self._serve_cmd(runtime, rest, port)
        with _process(cmd, self.env, rest, "/readyz", self.logs / f"grpc-{runtime}.log") as pid:
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

            def make(_: int) -> Send:
                def send(i: int) -> Answer:
                    try:
                        answer = stub.Predict(requests[i % len(requests)], timeout=120)
                    except grpc.RpcError as exc:
                        return False, f"gRPC {exc.code().name}"
                    return True, str(answer.model_spec.version.value)

                return send

            loop = self.loop(make)
            channel.close()
            return self._served("grpc", "aip serve (gRPC)", runtime, loop, pid, load_start, rest)

    # ---- mlflow models serve -------------------------------------------------------------------
    def _mlflow(
        self, workers: int, threads: int | None, duration: float, log: str
    ) -> tuple[LoopResult, float]:
        port = _free_port()
        bin_dir = str(Path(sys.executable).parent)
        env = {**self.env, "PATH": f"{bin_dir}{os.pathsep}{self.env.get('PATH', '')}"}  # it execs uvicorn
        if threads is not None:  # torch reads these at import, in every worker
            env |= {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        records = [{"text": x} if isinstance(x, str) else x for x in self.inputs]
        bodies = [json.dumps({"dataframe_records": [r]}).encode() for r in records]
        uri = f"models:/{self.options.model}/{self.version}"
        cmd = [str(Path(bin_dir) / "mlflow"), "models", "serve", "-m", uri, "--env-manager", "local"]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        version = self.version

        def uri_version(_: http.client.HTTPResponse, __: bytes) -> str:
            return version  # mlflow's answer does not name it: the server was started on models:/M/V

        with _process(cmd, env, port, "/ping", self.logs / log) as pid:
            loop = closed_loop(
                self.options.clients,
                duration,
                WARMUP_S,
                http_client(port, "/invocations", bodies, uri_version),
            )
            return loop, _rss_mb(pid)

    def mlflow(self) -> ModeResult:
        load_start = os.getloadavg()[0]
        loop, rss = self._mlflow(1, None, self.options.duration, "mlflow.log")
        return _result(
            "mlflow",
            "mlflow models serve, as shipped (1 worker, default threads)",
            "torch (mlflow pyfunc)",
            loop,
            concurrency=self.options.clients,
            rows=1,
            rss=rss,
            load_start=load_start,
            settings={"workers": 1, "torch_threads": "default", "batching": "none"},
        )

    def mlflow_tuned(self) -> ModeResult:
        """Sweep MLFLOW_GRID briefly, then run the best configuration for the full duration."""
        sweep: list[dict[str, Any]] = []
        for workers, threads in MLFLOW_GRID:
            loop, _ = self._mlflow(workers, threads, SWEEP_S, f"mlflow-w{workers}-t{threads}.log")
            rps = loop.ok / loop.seconds
            sweep.append(
                {
                    "workers": workers,
                    "torch_threads": threads,
                    "rows_per_s": round(rps, 1),
                    "errors": loop.errors,
                }
            )
            self.progress(
                f"  mlflow sweep: {workers} workers x {threads} threads: {rps:.1f} req/s, "
                f"{loop.errors} errors"
            )
        self.sweeps["mlflow-tuned"] = sweep
        best = max(sweep, key=lambda s: s["rows_per_s"] if s["errors"] == 0 else -1.0)
        load_start = os.getloadavg()[0]
        loop, rss = self._mlflow(
            best["workers"], best["torch_threads"], self.options.duration, "mlflow-tuned.log"
        )
        return _result(
            "mlflow-tuned",
            f"mlflow models serve, tuned ({best['workers']} workers x {best['torch_threads']} torch threads)",
            "torch (mlflow pyfunc)",
            loop,
            concurrency=self.options.clients,
            rows=1,
            rss=rss,
            load_start=load_start,
            settings={
                "workers": best["workers"],
                "torch_threads": best["torch_threads"],
                "batching": "none",
                "sweep": sweep,
            },
        )

    # ---- LitServe and KServe (bench venv) ------------------------------------------------------
    def _bench_python(self) -> str:
        python = self.options.bench_python or os.environ.get("AIP_BENCH_PYTHON")
        python = python or str(self.repo.root / ".venv-bench" / "bin" / "python")
        if not Path(python).is_file():
            raise BenchError(
                f"litserve/kserve modes need the bench venv ({python} is missing): make bench-venv"
            )
        return python

    def _other_server(self, mode: str, runtime: str) -> ModeResult:
        load_start = os.getloadavg()[0]
        port = _free_port()
        b = self.batching
        # LitServe: one model copy per worker process, as many forwards at once as aip serve runs.
        # KServe: 1 worker with all cores to torch/ORT: its multi-worker mode (spawned uvicorn
        # processes) kept restarting its children here, so it runs as shipped (docs/benchmarks).
        workers = b.num_batch_threads if mode == "litserve" else 1
        threads = max(1, self.cores // workers)
        cmd = [self._bench_python(), "-m", f"pipelines.bench._{mode}_app", "--artifact", str(self.artifact)]
        cmd += ["--model", self.options.model, "--version", self.version, "--runtime", runtime]
        cmd += ["--port", str(port), "--workers", str(workers), "--threads", str(threads)]
        cmd += ["--cache-dir", str(self.repo.state_dir / "cache" / "onnx")]  # the graph aip serve built
        cmd += [
            "--max-batch-size",
            str(b.max_batch_size),
            "--batch-timeout",
            str(b.batch_timeout_micros / 1e6),
        ]
        bodies = [json.dumps({"instances": [x]}).encode() for x in self.inputs]
        settings: dict[str, Any]
        if mode == "litserve":
            path, ready = "/predict", "/health"
            server = "LitServe (LitAPI, dynamic batching)"
            settings = {
                "max_batch_size": b.max_batch_size,
                "batch_timeout_s": b.batch_timeout_micros / 1e6,
                "workers_per_device": workers,
                "threads_per_worker": threads,
            }
        else:
            path, ready = f"/v1/models/{self.options.model}:predict", f"/v1/models/{self.options.model}"
            server = "KServe Python model server (no in-process batching)"
            settings = {
                "workers": workers,
                "threads_per_worker": threads,
                "batching": "none (KServe batches in its Kubernetes agent sidecar, not in Python)",
            }
        env = {**self.env, "OMP_NUM_THREADS": str(threads)}
        with _process(cmd, env, port, ready, self.logs / f"{mode}.log") as pid:
            loop = self.loop(http_client(port, path, bodies, _body_version))
            return _result(
                mode,
                server,
                runtime,
                loop,
                concurrency=self.options.clients,
                rows=1,
                rss=_rss_mb(pid),
                load_start=load_start,
                settings=settings,
            )


# ---- machine facts and reports -----------------------------------------------------------------
def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _versions(bench_python: str | None) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str] = {"python": platform.python_version()}
    for name in ("torch", "transformers", "onnxruntime", "mlflow", "uvicorn", "starlette"):
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    if bench_python and Path(bench_python).is_file():
        code = "from importlib.metadata import version as v; print(v('litserve'), v('kserve'))"
        with contextlib.suppress(subprocess.SubprocessError, OSError, ValueError):
            out = subprocess.run(
                [bench_python, "-c", code], capture_output=True, text=True, timeout=60, check=True
            )
            found["litserve"], found["kserve"] = out.stdout.split()
    return found


def _git(repo: Repo) -> str:
    from pipelines.git import GitError, git

    with contextlib.suppress(GitError):
        head = git(repo.root, "rev-parse", "--short", "HEAD").strip()
        dirty = git(repo.root, "status", "--porcelain").strip()
        return head + ("+dirty" if dirty else "")
    return "unknown"


def _fmt(x: float | None, digits: int = 1) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def markdown(results: list[ModeResult], meta: dict[str, Any]) -> str:
    m = meta
    lines = [
        f"# Serving benchmark: {m['model']} v{m['version']}",
        "",
        f"{m['date']} · {m['machine']['cpu']} · {m['machine']['cores']} cores · load average "
        f"{m['machine']['load_avg_start']:.2f} at the start, {m['machine']['load_avg_end']:.2f} at the end · "
        f"{m['clients']} closed-loop clients · {m['warmup_s']:.0f} s warm-up + "
        f"{m['duration_s']:.0f} s per mode · "
        f"commit {m['commit']}",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".",
        f"Batching (model.yaml, env {m['env']}): "
        + ", ".join(f"{k}={v}" for k, v in m["batching"].items())
        + f"; runtime configured: {m['configured_runtime']}.",
        "",
        "| mode | server | runtime | version | rows/s | mean ms | p50 ms | p99 ms | ok | errors | sent "
        "| mean batch | RSS MB | load avg | accuracy |",
        "| --- | --- | --- | --- " + "| ---: " * 11 + "|",
    ]
    for r in results:
        lines.append(
            f"| {r.mode} | {r.server} | {r.runtime} | {r.version} | {_fmt(r.rows_per_s)} | {_fmt(r.mean_ms)} "
            f"| {_fmt(r.p50_ms)} | {_fmt(r.p99_ms)} | {r.ok} | {r.errors} | {r.sent} "
            f"| {_fmt(r.mean_batch_rows) if r.mode != 'inprocess' else r.rows_per_request} | {r.rss_mb:.0f} "
            f"| {r.load_avg_start:.1f}→{r.load_avg_end:.1f} | {_fmt(r.accuracy, 4)} |"
        )
    lines += [
        "",
        "In-process rows are batches (latency per batch of `mean batch` rows); server rows are",
        "single-row requests. rows/s counts successes only; ok + errors = sent.",
        "",
    ]
    lines += [f"- {line}" for line in targets(results, m["configured_runtime"])]
    return "\n".join(lines) + "\n"


def targets(results: list[ModeResult], runtime: str) -> list[str]:
    """The serving targets (docs/benchmarks/README.md), computed from this run, with met / not met."""
    rest = next((r for r in results if r.mode == "rest" and r.runtime == runtime), None)
    if rest is None:
        return []
    out = []
    mlflows = [r for r in results if r.mode.startswith("mlflow")]
    if mlflows:
        best = max(mlflows, key=lambda r: r.rows_per_s)
        ratio = rest.rows_per_s / best.rows_per_s
        met = ratio >= 3 and rest.p99_ms <= best.p99_ms
        out.append(
            f"aip serve REST ({runtime}) vs the best mlflow ({best.mode}): {ratio:.1f}x rows/s "
            f"(target >= 3x), p99 {rest.p99_ms:.0f} vs {best.p99_ms:.0f} ms: {'met' if met else 'NOT met'}"
        )
    others = [r for r in results if r.mode in ("litserve", "kserve")]
    if others:
        best = max(others, key=lambda r: r.rows_per_s)
        met = rest.rows_per_s >= best.rows_per_s and rest.p99_ms <= best.p99_ms
        out.append(
            f"aip serve REST vs the faster of LitServe/KServe ({best.mode}): {rest.rows_per_s:.0f} vs "
            f"{best.rows_per_s:.0f} rows/s, p99 {rest.p99_ms:.0f} vs {best.p99_ms:.0f} ms: "
            f"{'met' if met else 'NOT met'}"
        )
    inproc = next((r for r in results if r.mode == "inprocess" and r.runtime == runtime), None)
    if inproc is not None:
        share = rest.rows_per_s / inproc.rows_per_s
        out.append(
            f"aip serve REST vs in-process ({runtime}, batches of {inproc.rows_per_request}): {share:.0%} "
            f"(target >= 80%): {'met' if share >= 0.8 else 'NOT met'}"
        )
    torch_in = next((r for r in results if r.mode == "inprocess" and r.runtime == "torch"), None)
    for r in results:
        if r.mode == "inprocess" and r.runtime != "torch" and torch_in is not None and r.accuracy is not None:
            out.append(
                f"runtime {r.runtime} vs torch in-process: {r.rows_per_s / torch_in.rows_per_s:.2f}x rows/s, "
                f"accuracy {r.accuracy:.4f} vs {torch_in.accuracy:.4f} "
                f"({(r.accuracy - (torch_in.accuracy or 0)) * 100:+.2f} points)"
            )
    return out


def run_benchmark(repo: Repo, options: BenchOptions, progress: Callable[[str], None] = print) -> int:
    from pipelines.artifacts.runtime import RUNTIMES
    from pipelines.registry.context import Context

    unknown = [m for m in options.modes if m not in MODES]
    if unknown:
        raise BenchError(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    bad = [r for r in options.runtimes if r not in RUNTIMES]
    if bad:
        raise BenchError(f"unknown runtime(s) {', '.join(bad)}; choose from {', '.join(RUNTIMES)}")
    if options.clients < 1 or options.duration <= 0:
        raise BenchError("--clients must be >= 1 and --duration > 0")
    ctx = Context.open(repo, options.env)
    version = options.version
    if version is None:
        found = ctx.registry.alias_version(options.model, ctx.env)
        if found is None:
            raise BenchError(
                f"{options.model} has no alias '{ctx.env}'; run `aip run {options.model}` or pass --version"
            )
        version = str(found.version)
    serving = repo.model(options.model).environment(ctx.env).serving
    configured = serving.runtime
    runtimes = options.runtimes or [configured]
    bench_python = (
        options.bench_python
        or os.environ.get("AIP_BENCH_PYTHON")
        or str(repo.root / ".venv-bench/bin/python")
    )
    options.bench_python = bench_python
    logs = repo.state_dir / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    load_avg_start = os.getloadavg()[0]
    progress(f"loading {options.model} version {version} (load average {load_avg_start:.2f}) ...")
    with tempfile.TemporaryDirectory(prefix="aip-bench-") as tmp:
        from pipelines.artifacts import load
        from pipelines.data import load_split
        from pipelines.registry.loader import download_artifact

        artifact = download_artifact(f"models:/{options.model}/{version}", Path(tmp))

        predictor = load(artifact)
        frame = load_split(repo, repo.model(options.model).dataset, "test")
        run = _Run(
            repo=repo,
            options=options,
            version=version,
            predictor=predictor,
            inputs=_inputs(repo, options.model, frame),
            frame=frame,
            batching=serving.batching,
            configured_runtime=configured,
            artifact=artifact,
            env={**os.environ, "AIP_REPO": str(repo.root)},
            logs=logs,
            progress=progress,
        )
        results: list[ModeResult] = []
        for mode in options.modes:
            per_runtime = mode in ("inprocess", "rest", "grpc")
            for runtime in runtimes if per_runtime else [configured]:
                label = f"{mode} [{runtime}]" if mode not in ("mlflow", "mlflow-tuned") else mode
                progress(
                    f"{label}: {options.clients} clients, {WARMUP_S:.0f} s warm-up + "
                    f"{options.duration:.0f} s ..."
                )
                if mode == "inprocess":
                    result = run.inprocess(runtime)
                elif mode == "rest":
                    result = run.rest(runtime)
                elif mode == "grpc":
                    result = run.grpc(runtime)
                elif mode == "mlflow":
                    result = run.mlflow()
                elif mode == "mlflow-tuned":
                    result = run.mlflow_tuned()
                else:
                    result = run._other_server(mode, runtime)
                progress(
                    f"  {result.rows_per_s:.1f} rows/s, p50 {result.p50_ms:.1f} ms, "
                    f"p99 {result.p99_ms:.1f} ms, "
                    f"{result.ok} ok, {result.errors} errors, version {result.version}"
                )
                results.append(result)
    meta = {
        "model": options.model,
        "env": ctx.env,
        "version": version,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git(repo),
        "clients": options.clients,
        "duration_s": options.duration,
        "warmup_s": WARMUP_S,
        "batching": run.batching.model_dump(),
        "configured_runtime": configured,
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "load_avg_start": load_avg_start,
            "load_avg_end": os.getloadavg()[0],
            "platform": platform.platform(),
        },
        "versions": _versions(bench_python),
    }
    table = markdown(results, meta)
    print(table)
    served = {r.version for r in results}
    problems = [f"{r.mode}: no successful request" for r in results if r.ok == 0]
    if len(served) != 1:
        problems.append(f"the modes served different versions: {sorted(served)}")
    if options.output:
        base = Path(options.output).with_suffix("")
        base.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "meta": meta,
            "results": [asdict(r) for r in results],
            "targets": targets(results, configured),
        }
        base.with_suffix(".json").write_text(json.dumps(document, indent=2) + "\n")
        base.with_suffix(".md").write_text(table)
        progress(f"wrote {base}.json and {base}.md")
    if problems:
        raise BenchError("; ".join(problems))
    return 0
