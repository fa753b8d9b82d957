"""Benchmark of retrieval on this machine: prints figures, asserts nothing.

    .venv/bin/python scripts/bench_retrieval.py                  # the docs corpus, 200 queries
    .venv/bin/python scripts/bench_retrieval.py --queries 50     # quicker
    .venv/bin/python scripts/bench_retrieval.py --json out.json  # also write the figures

Works in a temporary folder, never on the checkout's data: chunks this checkout's docs exactly as the
platform-docs ingest stage does, then measures
- the index build (`build_index`: MiniLM embeddings of every chunk + the FAISS IndexFlatIP) and its size;
- `sync` into milvus-lite (a fresh .db);
- per query, one at a time as a request handler would: query embedding + search (`Retriever.retrieve`),
  and search only (a precomputed vector), on FAISS and on milvus-lite: p50, p99, mean.
The queries are the chunks' own headings phrased as questions (deterministic, on-topic, short).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pipelines.offline import apply_offline_env

DATASET = "platform-docs"
QUERIES = 200  # enough for a stable p99 (the 2nd slowest of 200) in a couple of minutes on 2 cores
K = 4  # the platform assistant's retrieval.k
WARMUP = 5  # queries run first and not timed (lazy inits, caches)
ROOT = Path(__file__).resolve().parents[1]


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    at = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]  # noqa: E731
    return {"p50_ms": at(0.5) * 1e3, "p99_ms": at(0.99) * 1e3, "mean_ms": statistics.fmean(ordered) * 1e3}


def make_repo(dest: Path) -> tuple[object, float]:
    """platform.yaml + the dataset folder, with data/raw.csv chunked from this checkout's docs."""
    from pipelines.data._csv import write_csv
    from pipelines.data.documents import chunk_files
    from pipelines.repo.layout import Repo

    dest.mkdir(parents=True)
    shutil.copy2(ROOT / "platform.yaml", dest / "platform.yaml")
    shutil.copytree(
        ROOT / "datasets" / DATASET, dest / "datasets" / DATASET, ignore=shutil.ignore_patterns("data")
    )
    repo = Repo(dest)
    cfg = repo.dataset(DATASET)
    start = time.perf_counter()
    frame = chunk_files(
        ROOT, cfg.ingest["include"], licence=cfg.ingest["licence"], max_chars=cfg.ingest["max_chars"]
    )
    write_csv(frame, dest / "datasets" / DATASET / "data" / "raw.csv")
    return repo, time.perf_counter() - start


def questions(chunks: list[object], n: int) -> list[str]:
    headings = sorted({c.heading.split(" > ")[-1] for c in chunks})  # type: ignore[attr-defined]
    random.Random(0).shuffle(headings)
    forms = ["how do I {}?", "what does {} mean", "{}: where is it explained?", "tell me about {}"]
    return [forms[i % len(forms)].format(headings[i % len(headings)].lower()) for i in range(n)]


def time_each(fn, items: list) -> list[float]:  # type: ignore[no-untyped-def,type-arg]
    for item in items[:WARMUP]:
        fn(item)
    seconds = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        seconds.append(time.perf_counter() - start)
    return seconds


def report(figures: dict[str, Any]) -> None:
    index = figures["index"]
    load = figures["load_average_1m"]
    print(f"cpus {figures['cpus']}, torch threads {figures['torch_threads']}, load average {load:.1f}")
    print(
        f"index: {index['chunks']} chunks from {index['files']} files; chunking {index['chunking_s']:.2f}s, "
        f"build {index['build_s']:.1f}s ({index['chunks_per_s']:.1f} chunks/s), "
        f"size {index['total_mb']:.2f} MB {index['bytes']}"
    )
    print(
        f"embedder load {figures['embedder_load_s']:.1f}s; milvus-lite sync {figures['milvus_sync_s']:.1f}s"
    )
    print(f"{figures['queries']} queries, k={K}, one at a time      p50 ms   p99 ms  mean ms")
    rows = [
        (name, kind, values) for name in ("faiss", "milvus-lite") for kind, values in figures[name].items()
    ]
    rows.append(("(embedding)", "query only", figures["embed_only"]))
    for name, kind, v in rows:
        print(
            f"  {name:<12} {kind:<14}           {v['p50_ms']:7.2f}  {v['p99_ms']:7.2f}  {v['mean_ms']:7.2f}"
        )
    share = figures["same_top_k_share"]
    print(f"FAISS and milvus-lite return the same top-{K} ids for {share:.0%} of the queries")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=QUERIES)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    apply_offline_env()
    import torch

    from pipelines.vectors import Retriever, build_index, embedder, index_dir, open_store, sync

    figures: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1m": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        repo, chunk_s = make_repo(Path(tmp) / "repo")
        start = time.perf_counter()
        model = embedder("all-minilm-l6-v2")
        figures["embedder_load_s"] = time.perf_counter() - start
        start = time.perf_counter()
        manifest = build_index(repo, DATASET)  # type: ignore[arg-type]
        build_s = time.perf_counter() - start
        folder = index_dir(repo, DATASET)  # type: ignore[arg-type]
        sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
        figures["index"] = {
            "chunks": manifest.chunks,
            "files": len(
                {line.split('"path": "')[1].split('"')[0] for line in (folder / "chunks.jsonl").open()}
            ),
            "chunking_s": chunk_s,
            "build_s": build_s,
            "chunks_per_s": manifest.chunks / build_s,
            "bytes": sizes,
            "total_mb": sum(sizes.values()) / 1e6,
        }
        uri = str(Path(tmp) / "milvus.db")
        start = time.perf_counter()
        sync(repo, DATASET, uri)  # type: ignore[arg-type]
        figures["milvus_sync_s"] = time.perf_counter() - start

        faiss_store = open_store(repo, DATASET, "faiss")  # type: ignore[arg-type]
        asked = questions(faiss_store.chunks, args.queries)  # type: ignore[attr-defined]
        vectors = model.encode(asked)
        rows = [vectors[i : i + 1] for i in range(len(asked))]
        milvus_store = open_store(repo, DATASET, "milvus", uri)  # type: ignore[arg-type]
        try:
            for name, store in (("faiss", faiss_store), ("milvus-lite", milvus_store)):
                retriever = Retriever(store, model)
                figures[name] = {
                    "embed+search": percentiles(time_each(lambda q, r=retriever: r.retrieve(q, K), asked)),
                    "search": percentiles(time_each(lambda v, s=store: s.search(v, K), rows)),
                }
            figures["embed_only"] = percentiles(time_each(lambda q: model.encode([q]), asked))
            same = sum(
                [h.chunk.id for h in a] == [h.chunk.id for h in b]
                for a, b in zip(faiss_store.search(vectors, K), milvus_store.search(vectors, K), strict=True)
            )
            figures["same_top_k_share"] = same / len(asked)
        finally:
            milvus_store.close()
    figures["queries"] = len(asked)
    report(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
