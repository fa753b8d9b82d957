"""What explanations cost: `:explain` vs `:predict` latency on one `aip serve`, and the seconds the
SHAP section adds to an evaluation.

    AIP_REPO=<a repo whose models are registered> python scripts/bench_explain.py [--requests 40] [--text]

1. Starts `aip serve --models tumor-classifier` (and topic-classifier with --text) on a free port and
   sends one-instance requests one after another: N :predict, then N :explain (a 429 from the rate
   limit is waited out as its Retry-After says and not timed). The first :explain of a version loads
   shap and the background: reported apart as "first".
2. Evaluates the registered version twice in this process, `evaluate_model(explain=False)` then
   `explain=True`, and prints the difference and the section's own seconds.

Prints p50/p99 in milliseconds. A script, not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

MODELS = {"tumor-classifier": "tabular", "topic-classifier": "text"}
TEXTS = ["who wrote the lord of the rings", "can you write a quicksort in Python?", "do you ever feel sad"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quantile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]


def post(url: str, body: object) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def instances(repo: Path, model: str, n: int) -> list[object]:
    if MODELS[model] == "text":
        return [TEXTS[i % len(TEXTS)] for i in range(n)]
    from pipelines.data import load_split, model_inputs
    from pipelines.repo.layout import Repo

    rows = model_inputs(Repo(repo), "breast-cancer", load_split(Repo(repo), "breast-cancer", "test"))
    return [rows[i % len(rows)] for i in range(n)]


def timed(url: str, items: list[object]) -> tuple[list[float], int]:
    """Milliseconds of each admitted request, and how many 429s were waited out."""
    latencies, limited = [], 0
    for item in items:
        while True:
            started = time.perf_counter()
            status, headers, body = post(url, {"instances": [item]})
            elapsed = (time.perf_counter() - started) * 1000
            if status != 429:
                break
            limited += 1
            time.sleep(float(headers.get("Retry-After", "1")))
        if status != 200:
            raise SystemExit(f"{url}: {status} {body[:300]!r}")
        latencies.append(elapsed)
    return latencies, limited


def bench_server(repo: Path, models: list[str], n: int) -> None:
    port = free_port()
    log = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)  # noqa: SIM115
    command = [sys.executable, "-m", "pipelines", "serve", "--models", ",".join(models),
               "--rest-port", str(port), "--grpc-port", "0", "--no-prompts"]  # fmt: skip
    print(f"starting {' '.join(command[2:])} (log {log.name}) ...", flush=True)
    server = subprocess.Popen(command, cwd=repo, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as ready:
                    if ready.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {log.name}")
            time.sleep(0.5)
        for model in models:
            base = f"http://127.0.0.1:{port}/v1/models/{model}"
            items = instances(repo, model, n + 1)
            predict, _ = timed(base + ":predict", items[1:])
            first, _ = timed(base + ":explain", items[:1])
            explain, limited = timed(base + ":explain", items[1:])
            print(f"{model}: {n} one-instance requests each, one client")
            for name, values in ((":predict", predict), (":explain", explain)):
                print(
                    f"  {name:<9} p50 {quantile(values, 0.5):8.1f} ms   p99 {quantile(values, 0.99):8.1f} ms"
                )
            print(f"  :explain first request {first[0]:.0f} ms (loads shap and the background)")
            print(f"  :explain/:predict at p50: {quantile(explain, 0.5) / quantile(predict, 0.5):.0f}x; "
                  f"{limited} answers 429 waited out (rate limit)")  # fmt: skip
    finally:
        server.terminate()
        server.wait(60)


def bench_evaluation(repo: Path, model: str) -> None:
    from pipelines.data import load_split
    from pipelines.evaluate import evaluate_model
    from pipelines.registry.context import Context
    from pipelines.registry.loader import load_predictor
    from pipelines.repo.layout import Repo

    r = Repo(repo)
    ctx = Context.open(r, None)
    version = ctx.registry.alias_version(model, ctx.env)
    if version is None:
        raise SystemExit(f"{model} has no alias {ctx.env!r} in {repo}")
    predictor = load_predictor(f"models:/{model}/{version.version}")
    config, dataset = r.model(model), r.dataset(r.model(model).dataset)
    test, train = load_split(r, config.dataset, "test"), load_split(r, config.dataset, "train")
    seconds = {}
    with tempfile.TemporaryDirectory() as out:
        for explain in (False, True):
            started = time.perf_counter()
            result = evaluate_model(config, dataset, predictor, test, Path(out) / str(explain),
                                    explain=explain, background=train)  # fmt: skip
            seconds[explain] = time.perf_counter() - started
        doc = json.loads(result.explanations.read_text()) if result.explanations else {}
    added = seconds[True] - seconds[False]
    print(f"{model} evaluation: {seconds[False]:.1f} s without explanations, {seconds[True]:.1f} s with "
          f"(+{added:.1f} s; the SHAP section's own {doc.get('seconds', 0):.1f} s, "
          f"{doc.get('explained', {}).get('rows')} rows x {doc.get('max_evals')} evaluations)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=40, help="requests per method (default 40)")
    parser.add_argument("--text", action="store_true", help="the text model too (minutes on a CPU)")
    args = parser.parse_args()
    repo = Path(os.environ.get("AIP_REPO", ".")).resolve()
    models = ["tumor-classifier", *(["topic-classifier"] if args.text else [])]
    bench_server(repo, models, args.requests)
    for model in models:
        bench_evaluation(repo, model)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(os.environ.get("AIP_REPO", ".")).resolve()))
    from pipelines.offline import apply_offline_env

    apply_offline_env()
    main()
