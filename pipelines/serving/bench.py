"""Serving benchmark: the same registered version, the same closed loop of N clients, four ways.

    aip bench serving                                   # topic-classifier @ the default env, 16 clients, 20 s
    aip bench serving --model tumor-classifier --clients 8 --duration 10 --modes inprocess,rest
    python scripts/bench_serving.py --output bench.json

Modes:
  inprocess  the model's batched forward pass in this process, N rows per batch: the limit
  rest       `aip serve` over REST (one instance per request)
  grpc       `aip serve` over gRPC (needs the `grpc` extra)
  mlflow     `mlflow models serve` of the same registered version (one instance per request)

Each mode warms up for WARMUP_S, then N client threads send requests back to back for `duration`
seconds. Reported: requests/s, p50 and p99 latency, the server's RSS (with its children), and the
load average (other work on the machine skews the figures; it is printed so readers can judge).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pipelines.repo.layout import Repo

__all__ = ["BenchOptions", "ModeResult", "run_benchmark"]

WARMUP_S = 3.0  # first requests pay for lazy initialisation (allocator, tokenizer caches)
START_TIMEOUT_S = 180.0  # server start-up: MLflow import, model download and load
INPUT_POOL = 512  # distinct inputs cycled through by the clients
MODES = ("inprocess", "rest", "grpc", "mlflow")


@dataclass
class BenchOptions:
    model: str = "topic-classifier"
    env: str | None = None
    version: str | None = None  # default: the version the environment alias points at
    clients: int = 16
    duration: float = 20.0
    modes: list[str] = field(default_factory=lambda: list(MODES))
    output: str | None = None


@dataclass
class ModeResult:
    mode: str
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    rss_mb: float
    load_avg: float
    note: str = ""


class BenchError(Exception):
    user_facing = True


# ---- inputs --------------------------------------------------------------------------------
def _inputs(repo: Repo, model: str, kind: str, feature_names: list[str] | None) -> list[Any]:
    """Real inputs: the test split of the model's dataset (text or feature rows)."""
    import pandas as pd

    from pipelines.data._paths import splits_dir

    dataset = repo.model(model).dataset
    folder = splits_dir(repo, dataset)
    files = sorted(folder.glob("test.*")) if folder.is_dir() else []
    if not files:
        raise BenchError(f"no test split in {folder}; run `aip data prepare {dataset}` (or `aip run`) first")
    frame = pd.read_parquet(files[0]) if files[0].suffix == ".parquet" else pd.read_csv(files[0])
    rng = random.Random(0)
    if kind == "text":
        column = repo.dataset(dataset).text_column or "text"
        texts = [str(t) for t in frame[column].tolist()]
        return [rng.choice(texts) for _ in range(INPUT_POOL)]
    rows = frame[feature_names or []].astype(float).to_dict("records")
    return [rng.choice(rows) for _ in range(INPUT_POOL)]


# ---- closed loop ---------------------------------------------------------------------------
def _closed_loop(
    clients: int, duration: float, make_client: Callable[[int], Callable[[int], bool]]
) -> tuple[list[float], int, float]:
    """Run `clients` threads; each calls its request function back to back. Returns latencies
    measured after the warm-up, the error count and the measured seconds."""
    start_measure = time.perf_counter() + WARMUP_S
    stop = start_measure + duration
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    ready = threading.Barrier(clients)

    def worker(index: int) -> None:
        send = make_client(index)
        ready.wait()
        i = index * 7919
        while (now := time.perf_counter()) < stop:
            ok = send(i)
            i += 1
            if now >= start_measure:
                latencies[index].append(time.perf_counter() - now)
                if not ok:
                    errors[index] += 1

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + WARMUP_S + 120)
    return [x for per in latencies for x in per], sum(errors), duration


def _result(
    mode: str, lat: list[float], errors: int, seconds: float, rss: float, note: str = ""
) -> ModeResult:
    arr = np.array(lat) * 1000 if lat else np.array([np.nan])
    return ModeResult(
        mode=mode,
        requests=len(lat),
        errors=errors,
        seconds=seconds,
        rps=len(lat) / seconds,
        p50_ms=float(np.percentile(arr, 50)),
        p99_ms=float(np.percentile(arr, 99)),
        rss_mb=rss,
        load_avg=os.getloadavg()[0],
        note=note,
    )


def _rss_mb(pid: int) -> float:
    import psutil

    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
    except psutil.Error:
        return float("nan")
    return float(total / 2**20)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _process(
    cmd: list[str], env: dict[str, str], ready_url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as handle:
        proc = subprocess.Popen(cmd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise BenchError(f"{' '.join(cmd[:4])} exited with {proc.returncode}; see {log}")
                if time.monotonic() > deadline:
                    raise BenchError(f"{' '.join(cmd[:4])} not ready in {START_TIMEOUT_S:.0f} s; see {log}")
                with contextlib.suppress(OSError):
                    host, _, rest = ready_url.removeprefix("http://").partition("/")
                    conn = http.client.HTTPConnection(host, timeout=2)
                    conn.request("GET", "/" + rest)
                    if conn.getresponse().status == 200:
                        break
                time.sleep(0.3)
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _http_client(port: int, path: str, bodies: list[bytes]) -> Callable[[int], Callable[[int], bool]]:
    def make(_: int) -> Callable[[int], bool]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Content-Type": "application/json"}

        def send(i: int) -> bool:
            conn.request("POST", path, bodies[i % len(bodies)], headers)
            response = conn.getresponse()
            response.read()
            return response.status == 200

        return send

    return make


# ---- modes ---------------------------------------------------------------------------------
def _bench_inprocess(predictor: Any, inputs: list[Any], options: BenchOptions, threads: int) -> ModeResult:
    """Batches of N rows back to back on `threads` threads (the model's num_batch_threads, as the
    server runs them): what the model alone can do."""
    n = options.clients
    batches: list[Any] = [inputs[i : i + n] for i in range(0, len(inputs) - n + 1, n)]
    if predictor.kind != "text":
        import pandas as pd

        batches = [pd.DataFrame(b) for b in batches]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    start_measure = time.perf_counter() + WARMUP_S
    stop = start_measure + options.duration

    def loop(k: int) -> None:
        i = k * 17
        while (now := time.perf_counter()) < stop:
            predictor.predict_proba(batches[i % len(batches)])
            i += 1
            if now >= start_measure:
                latencies[k].extend([time.perf_counter() - now] * n)

    # Worker threads, as the server's batcher runs the model (each forward then uses one core; the
    # main thread's OpenMP team was 3-5x slower under CPU contention on a loaded 2-core machine).
    workers = [threading.Thread(target=loop, args=(k,), name=f"inprocess-{k}") for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    flat = [x for per in latencies for x in per]
    note = f"batches of {n} rows, {threads} thread(s)"
    return _result("inprocess", flat, 0, options.duration, _rss_mb(os.getpid()), note)


def _serve_cmd(repo: Repo, options: BenchOptions, rest: int, grpc: int) -> list[str]:
    cmd = [sys.executable, "-m", "pipelines", "serve", "--models", options.model]
    cmd += ["--rest-port", str(rest), "--grpc-port", str(grpc)]
    return cmd + (["--env", options.env] if options.env else [])


def _bench_rest(
    repo: Repo, env: dict[str, str], options: BenchOptions, inputs: list[Any], logs: Path
) -> ModeResult:
    port = _free_port()
    bodies = [json.dumps({"instances": [x]}).encode() for x in inputs]
    url = f"http://127.0.0.1:{port}/readyz"
    with _process(_serve_cmd(repo, options, port, 0), env, url, logs / "rest.log") as proc:
        path = f"/v1/models/{options.model}:predict"
        lat, errors, seconds = _closed_loop(
            options.clients, options.duration, _http_client(port, path, bodies)
        )
        return _result("rest", lat, errors, seconds, _rss_mb(proc.pid), "aip serve, 1 instance per request")


def _bench_grpc(
    repo: Repo, env: dict[str, str], options: BenchOptions, inputs: list[Any], logs: Path
) -> ModeResult:
    from pipelines.serving._grpc import _quiet_stderr

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        with _quiet_stderr():  # TensorFlow's start-up banner
            import grpc
            from tensorflow.core.framework import tensor_pb2, types_pb2
            from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
    except ImportError as exc:
        raise BenchError(f"grpc mode needs the `grpc` extra: pip install -e '.[grpc]' ({exc})") from None
    rest, port = _free_port(), _free_port()

    def request(x: Any) -> Any:
        req = predict_pb2.PredictRequest()
        req.model_spec.name = options.model
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

    requests = [request(x) for x in inputs]
    url = f"http://127.0.0.1:{rest}/readyz"
    with _process(_serve_cmd(repo, options, rest, port), env, url, logs / "grpc.log") as proc:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

        def make(_: int) -> Callable[[int], bool]:
            def send(i: int) -> bool:
                try:
                    stub.Predict(requests[i % len(requests)], timeout=120)
                except grpc.RpcError:
                    return False
                return True

            return send

        lat, errors, seconds = _closed_loop(options.clients, options.duration, make)
        channel.close()
        return _result("grpc", lat, errors, seconds, _rss_mb(proc.pid), "aip serve, 1 instance per request")


def _bench_mlflow(
    repo: Repo, env: dict[str, str], options: BenchOptions, version: str, inputs: list[Any], logs: Path
) -> ModeResult:
    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}  # it execs uvicorn
    records = [{"text": x} if isinstance(x, str) else x for x in inputs]
    bodies = [json.dumps({"dataframe_records": [r]}).encode() for r in records]
    cmd = [str(Path(bin_dir) / "mlflow"), "models", "serve", "-m", f"models:/{options.model}/{version}"]
    cmd += ["--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)]
    with _process(cmd, env, f"http://127.0.0.1:{port}/ping", logs / "mlflow.log") as proc:
        lat, errors, seconds = _closed_loop(
            options.clients, options.duration, _http_client(port, "/invocations", bodies)
        )
        return _result(
            "mlflow", lat, errors, seconds, _rss_mb(proc.pid), "mlflow models serve, 1 worker (default)"
        )


# ---- report --------------------------------------------------------------------------------
def markdown(results: list[ModeResult], header: str) -> str:
    lines = [
        header,
        "",
        "| mode | requests/s | p50 ms | p99 ms | RSS MB | errors | load avg | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r.mode} | {r.rps:.1f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.rss_mb:.0f} | {r.errors} "
            f"| {r.load_avg:.2f} | {r.note} |"
        )
    by = {r.mode: r for r in results}
    if "rest" in by and "mlflow" in by:
        rest, mlf = by["rest"], by["mlflow"]
        lines.append(
            f"\nREST vs mlflow: {rest.rps / mlf.rps:.1f}x throughput (target >= 3x), "
            f"p99 {rest.p99_ms:.0f} vs {mlf.p99_ms:.0f} ms (target: equal or lower)"
        )
    if "rest" in by and "inprocess" in by:
        lines.append(f"REST vs in-process: {by['rest'].rps / by['inprocess'].rps:.0%} (target >= 60%)")
    return "\n".join(lines)


def run_benchmark(repo: Repo, options: BenchOptions, progress: Callable[[str], None] = print) -> int:
    from pipelines.serving._registry import RegistryLoader, batch_settings

    unknown = [m for m in options.modes if m not in MODES]
    if unknown:
        raise BenchError(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    if options.clients < 1 or options.duration <= 0:
        raise BenchError("--clients must be >= 1 and --duration > 0")
    loader = RegistryLoader.open(repo, options.env)
    version = options.version or loader.alias_version(options.model)
    if version is None:
        raise BenchError(
            f"{options.model} has no alias '{loader.env}'; run `aip run {options.model}` or pass --version"
        )
    progress(f"loading {options.model} version {version} ...")
    predictor = loader.load(options.model, version)
    inputs = _inputs(repo, options.model, predictor.kind, predictor.feature_names)
    env = {**os.environ, "AIP_REPO": str(repo.root)}
    logs = repo.state_dir / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    results: list[ModeResult] = []
    for mode in options.modes:
        progress(
            f"{mode}: {options.clients} clients, {WARMUP_S:.0f} s warm-up + {options.duration:.0f} s ..."
        )
        if mode == "inprocess":
            threads = batch_settings(repo, options.model, loader.env).num_batch_threads
            result = _bench_inprocess(predictor, inputs, options, threads)
        elif mode == "rest":
            result = _bench_rest(repo, env, options, inputs, logs)
        elif mode == "grpc":
            result = _bench_grpc(repo, env, options, inputs, logs)
        else:
            result = _bench_mlflow(repo, env, options, version, inputs, logs)
        progress(f"  {result.rps:.1f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms")
        results.append(result)
    batching = batch_settings(repo, options.model, loader.env)
    header = (
        f"{options.model} v{version} ({predictor.kind}), {options.clients} closed-loop clients, "
        f"{options.duration:.0f} s per mode, {os.cpu_count()} CPUs; batching {batching}"
    )
    table = markdown(results, header)
    print(table)
    if options.output:
        Path(options.output).write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
        progress(f"wrote {options.output}")
    return 0
