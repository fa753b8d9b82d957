"""`aip vectors`: build, sync and search the vector index of a documents dataset (parsing and printing
only; the work is pipelines/vectors, docs/retrieval.md)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from pipelines.cli.errors import EXIT_FAILED

if TYPE_CHECKING:
    from pipelines.repo.layout import Repo


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `aip vectors ...` on the top-level subparsers (called from pipelines/cli/main.py)."""
    vectors = sub.add_parser(
        "vectors",
        help="the vector index of a documents dataset: build (DVC stage), sync to Milvus, search",
        description="A documents dataset (kind: documents) ends in a vector index: `build` embeds its "
        "chunks into FAISS (datasets/<name>/data/index/, versioned with the data), `sync` loads that "
        "index into Milvus, `search` queries either. Docs: docs/retrieval.md",
    )
    vsub = vectors.add_subparsers(dest="vectors_command", metavar="COMMAND", required=True)

    text = "embed data/raw.csv's chunks into the FAISS index data/index/ (the DVC `index` stage)"
    p = vsub.add_parser("build", help=text, description=text)
    p.add_argument("dataset", help="documents dataset name (a folder under datasets/)")
    p.set_defaults(handler="pipelines.cli.vectors_commands:cmd_vectors_build")

    text = (
        "load the built index into the environment's Milvus (platform.yaml milvus_uri; milvus-lite at "
        "<state_dir>/milvus.db when unset), one collection per index version; a no-op when it is there"
    )
    p = vsub.add_parser("sync", help="load the built index into Milvus (idempotent)", description=text)
    p.add_argument("dataset", help="documents dataset name (a folder under datasets/)")
    _env_and_uri(p)
    p.set_defaults(handler="pipelines.cli.vectors_commands:cmd_vectors_sync")

    text = "the k chunks closest to a query: score (cosine), path, heading"
    p = vsub.add_parser("search", help=text, description=text)
    p.add_argument("dataset", help="documents dataset name (a folder under datasets/)")
    p.add_argument("query", help="the question, in quotes")
    p.add_argument("-k", type=int, default=5, metavar="N", help="how many chunks (default: 5)")
    p.add_argument(
        "--backend",
        choices=("faiss", "milvus"),
        help="vector store (default: the environment's vector_store in platform.yaml, 'faiss')",
    )
    p.add_argument("--text", action="store_true", help="also print each chunk's text")
    _env_and_uri(p)
    p.set_defaults(handler="pipelines.cli.vectors_commands:cmd_vectors_search")


def _env_and_uri(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env", metavar="ENV", help="environment from platform.yaml (default: its default_environment)"
    )
    parser.add_argument(
        "--uri",
        metavar="URI",
        help="Milvus URI instead of the environment's: http(s)://host:19530, or a milvus-lite file (.db)",
    )


def _repo() -> Repo:
    from pipelines.repo.layout import Repo

    return Repo.discover()


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_vectors_build(args: argparse.Namespace) -> int:
    from pipelines.vectors import build_index, index_dir

    repo = _repo()
    _say(f"==> vectors: {args.dataset}: build the FAISS index")
    start = time.perf_counter()
    manifest = build_index(repo, args.dataset, progress=lambda m: _say(f"    {m}"))
    folder = index_dir(repo, args.dataset)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    print(
        f"{args.dataset}: {manifest.chunks} chunks x {manifest.dim} dims ({manifest.embedding_model}), "
        f"version {manifest.version}, {size / 1e6:.2f} MB, {time.perf_counter() - start:.1f}s"
    )
    return 0


def cmd_vectors_sync(args: argparse.Namespace) -> int:
    from pipelines.vectors import sync

    repo = _repo()
    env, settings = repo.environment(args.env)
    uri = args.uri or settings.milvus_uri
    _say(f"==> vectors: {args.dataset}: sync the built index to Milvus for '{env}'")
    start = time.perf_counter()
    result = sync(repo, args.dataset, uri)
    what = "loaded" if result.created else "already there, nothing to do:"
    print(
        f"{args.dataset}: {what} {result.rows} chunks in collection {result.collection} at {result.uri} "
        f"({time.perf_counter() - start:.1f}s)"
    )
    return 0


def cmd_vectors_search(args: argparse.Namespace) -> int:
    from pipelines.vectors import Retriever, embedder, open_store

    if args.k < 1:
        print(f"error: -k must be at least 1 (got {args.k})", file=sys.stderr)
        return EXIT_FAILED
    repo = _repo()
    _, settings = repo.environment(args.env)
    backend = args.backend or settings.vector_store
    uri = args.uri or settings.milvus_uri
    store = open_store(repo, args.dataset, backend, uri)
    try:
        manifest = store.manifest
        index = f"index {manifest.version[:12]}, {manifest.chunks} chunks"
        _say(f"==> vectors: {args.dataset} on {backend} ({index})")
        retriever = Retriever(store, embedder(manifest.embedding_model))
        start = time.perf_counter()
        hits = retriever.retrieve(args.query, args.k)
        seconds = time.perf_counter() - start
    finally:
        store.close()
    for rank, hit in enumerate(hits, start=1):
        print(f"{rank:>2}  {hit.score:.3f}  {hit.chunk.path}  |  {hit.chunk.heading}")
        if args.text:
            print("      " + hit.chunk.text.replace("\n", "\n      "))
    _say(f"    {len(hits)} hits in {seconds * 1000:.0f} ms (embedding + search)")
    return 0
