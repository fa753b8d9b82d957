"""The online feature lookup's added latency per request, through a running `aip serve`.

    aip serve --models tumor-classifier &                       # a model whose dataset has features
    python scripts/bench_features.py [URL] [N] [--repo PATH]    # default http://127.0.0.1:8501, 500

Sends N single-row :predict requests naming a tumour (`{"tumour_id": 17}`: the server reads its 30
features from the online store) interleaved with N requests carrying the same tumour's features, one
client on a kept-alive connection, after a warm-up; prints p50/p99 of each and the difference, the
lookup's cost. The ids and features come from the repo's prepared test split (`aip data prepare
breast-cancer`, and `aip features materialize` for the online store). A script, not a test: the figures
depend on the machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

MODEL = "tumor-classifier"
DATASET = "breast-cancer"
WARMUP = 30  # requests of each kind before measuring (first lookups open the store)


def quantile(values: list[float], p: float) -> float:
    """The p-quantile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8501")
    parser.add_argument("n", nargs="?", type=int, default=500, help="requests of each kind (default 500)")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the repo whose test split to send")
    args = parser.parse_args()

    sys.path.insert(0, str(args.repo))
    from pipelines.data import load_split
    from pipelines.repo.layout import Repo

    repo = Repo(args.repo.resolve())
    cfg = repo.dataset(DATASET)
    test = load_split(repo, DATASET, "test")
    columns = list(cfg.feature_columns or [])
    rows = [
        ({"tumour_id": int(r["tumour_id"])}, {c: float(r[c]) for c in columns}) for _, r in test.iterrows()
    ]
    url = urlparse(args.url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=30)
    path = f"/v1/models/{MODEL}:predict"

    def send(instance: dict[str, object]) -> tuple[float, dict[str, object]]:
        body = json.dumps({"instances": [instance]})
        started = time.perf_counter()
        conn.request("POST", path, body, {"Content-Type": "application/json", "X-Aip-Traffic": "synthetic"})
        response = conn.getresponse()
        payload = json.loads(response.read())
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise SystemExit(f"error: HTTP {response.status}: {payload}")
        return elapsed, payload

    for i in range(WARMUP):
        key, features = rows[i % len(rows)]
        send(key)
        send(features)
    by_key: list[float] = []
    by_features: list[float] = []
    for i in range(args.n):
        key, features = rows[i % len(rows)]
        seconds_key, answer_key = send(key)
        seconds_features, answer_features = send(features)
        if answer_key != answer_features:
            raise SystemExit(f"error: tumour_id {key['tumour_id']}: the two answers differ")
        by_key.append(seconds_key * 1000)
        by_features.append(seconds_features * 1000)
    print(f"{args.n} requests of each kind, one client, {args.url} ({MODEL})")
    print(f"{'request':<28} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name, values in (("tumour_id (online lookup)", by_key), ("30 features", by_features)):
        p50, p99, mean = quantile(values, 0.5), quantile(values, 0.99), statistics.fmean(values)
        print(f"{name:<28} {p50:>8.2f} {p99:>8.2f} {mean:>8.2f}")
    added50 = quantile(by_key, 0.5) - quantile(by_features, 0.5)
    added99 = quantile(by_key, 0.99) - quantile(by_features, 0.99)
    print(f"{'added by the lookup':<28} {added50:>8.2f} {added99:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
