"""The production-scale vector store: a Milvus collection per index version, via pymilvus' MilvusClient.

The URI picks the deployment: a local file path ending in `.db` runs milvus-lite in-process (the
default, `<state_dir>/milvus.db`; what tests and laptops use), `http(s)://host:19530` talks to a Milvus
server (the Helm release or a managed endpoint in platform.yaml's `milvus_uri`; a token, if the server
wants one, in $AIP_MILVUS_TOKEN). Both run the same engine and return the same results as FAISS: the
collection holds the built index's vectors under an exact FLAT index with the inner-product metric.

One collection per (dataset, embedding model, version), named `<dataset>__<model>__<version[:12]>` with
`-` as `_` (Milvus allows letters, digits and `_`): `sync` is idempotent, and a new docs version lands
in a new collection beside the old one (a rollback of the prompt finds its index still there). The name
is the manifest: the store's manifest is that (dataset, model, version) with the collection's vector
dimension and row count, so a server with no local index (only the commit's dvc.lock) can check it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.vectors._query import check_query
from pipelines.vectors.errors import IndexMissing, VectorError, VectorStoreUnavailable
from pipelines.vectors.index import MANIFEST_FILE, index_dir, index_version
from pipelines.vectors.records import Chunk, Hit, IndexManifest

if TYPE_CHECKING:
    import numpy as np

    from pipelines.repo.layout import Repo

TOKEN_ENV = "AIP_MILVUS_TOKEN"  # bearer token (or user:password) of a Milvus server that needs one
DEFAULT_FILE = "milvus.db"  # under the state dir: milvus-lite's data folder
TIMEOUT_S = 10.0  # per call: a server that does not answer in 10 s is down for a request path
INSERT_BATCH = 256  # rows per insert call (~0.5 MB of vectors and text)
VARCHAR_MAX = 65_535  # Milvus' largest VARCHAR; chunks are ~1,200 characters
_FIELDS = ("id", "path", "heading", "text", "licence")


def default_uri(repo: Repo) -> str:
    return str(repo.state_dir / DEFAULT_FILE)


def resolve_uri(repo: Repo, uri: str | None) -> str:
    """None -> `<state_dir>/milvus.db`; a relative file path is relative to the repo root."""
    if not uri:
        return default_uri(repo)
    if "://" in uri:
        return uri
    return str(Path(repo.resolve(uri)))


def collection_name(manifest: IndexManifest) -> str:
    raw = f"{manifest.dataset}__{manifest.embedding_model}__{manifest.version[:12]}"
    return "".join(c if c.isalnum() or c == "_" else "_" for c in raw)


def connect(uri: str) -> Any:
    """A MilvusClient for `uri`; VectorStoreUnavailable naming the URI when it cannot be reached."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    if "://" not in uri:
        if not uri.endswith(".db"):
            raise VectorError(f"milvus-lite needs a file path ending in .db (got {uri})")
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(uri=uri, token=os.environ.get(TOKEN_ENV, ""), timeout=TIMEOUT_S)
    except MilvusException as exc:
        hint = (
            ""
            if "://" in uri
            else " (milvus-lite opens a file in one process at a time: is another `aip` "
            "process, a server or a sync, using it? Stop it, or point milvus_uri at a Milvus server)"
        )
        raise VectorStoreUnavailable(f"Milvus at {uri} is unavailable: {exc.message}{hint}") from exc


@dataclass(frozen=True)
class SyncResult:
    uri: str
    collection: str
    rows: int
    created: bool
    """False when the collection was already complete (nothing written)."""


def sync(repo: Repo, dataset: str, uri: str | None = None) -> SyncResult:
    """Load the built index (data/index/) into its Milvus collection unless it is already there, whole."""
    from pymilvus import DataType, MilvusClient
    from pymilvus.exceptions import MilvusException

    from pipelines.vectors.faiss_store import FaissStore

    store = FaissStore.open(repo, dataset)  # IndexMissing naming the folder and `aip vectors build`
    manifest = store.manifest
    target = resolve_uri(repo, uri)
    name = collection_name(manifest)
    client = connect(target)
    try:
        if client.has_collection(name):
            if (
                _stored_manifest(client, name, manifest.dataset, manifest.embedding_model, manifest.version)
                == manifest
            ):
                return SyncResult(target, name, manifest.chunks, created=False)
            client.drop_collection(name)  # a load that stopped half way: start again
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("pk", DataType.INT64, is_primary=True, description="row of the FAISS index")
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=manifest.dim)
        for field in _FIELDS:
            schema.add_field(field, DataType.VARCHAR, max_length=VARCHAR_MAX)
        index_params = client.prepare_index_params()
        index_params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        client.create_collection(name, schema=schema, index_params=index_params)
        vectors = store.vectors()
        rows = [
            {"pk": i, "vector": vectors[i].tolist(), **{f: getattr(chunk, f) for f in _FIELDS}}
            for i, chunk in enumerate(store.chunks)
        ]
        for first in range(0, len(rows), INSERT_BATCH):
            client.insert(name, rows[first : first + INSERT_BATCH])
        client.flush(name)
        client.load_collection(name)
        return SyncResult(target, name, len(rows), created=True)
    except MilvusException as exc:
        raise VectorStoreUnavailable(f"Milvus at {target}: loading {name} failed: {exc.message}") from exc
    finally:
        client.close()
        store.close()


def expected_manifest(repo: Repo, dataset: str) -> tuple[str, str, str]:
    """(dataset, embedding model, version) this checkout asks for: the built index's manifest when there
    is one, else dataset.yaml's model and the version dvc.lock records (a server with no local index)."""
    path = index_dir(repo, dataset) / MANIFEST_FILE
    if path.is_file():
        manifest = IndexManifest.read(path)
        return manifest.dataset, manifest.embedding_model, manifest.version
    cfg = repo.dataset(dataset)
    if cfg.kind != "documents":
        raise VectorError(f"{dataset}: only a documents dataset has an index (this one is {cfg.kind})")
    return dataset, cfg.embedding_model, index_version(_locked_chunks_md5(repo, dataset), cfg.embedding_model)


def _locked_chunks_md5(repo: Repo, dataset: str) -> str:
    """The md5 of data/raw.csv in the committed dvc.lock (what pipelines.data.data_version returns)."""
    from ruamel.yaml import YAML

    lock = repo.dataset_dir(dataset) / "dvc.lock"
    if lock.is_file():
        stages = (YAML(typ="safe").load(lock.read_text(encoding="utf-8")) or {}).get("stages") or {}
        for stage in stages.values():
            for out in stage.get("outs") or []:
                if out.get("path") == "data/raw.csv" and out.get("md5"):
                    return str(out["md5"])
    raise IndexMissing(
        f"{dataset}: no built index at {index_dir(repo, dataset)} and no version in {lock}; "
        f"run `aip data prepare {dataset}`, then `aip vectors sync {dataset}`"
    )


class MilvusStore:
    """Search in the collection of this checkout's index version."""

    backend = "milvus"

    def __init__(self, client: Any, uri: str, collection: str, manifest: IndexManifest) -> None:
        self.manifest = manifest
        self.uri = uri
        self.collection = collection
        self._client: Any = client

    @classmethod
    def open(cls, repo: Repo, dataset: str, uri: str | None = None) -> MilvusStore:
        from pymilvus.exceptions import MilvusException

        dataset_name, model, version = expected_manifest(repo, dataset)
        target = resolve_uri(repo, uri)
        probe = IndexManifest(dataset_name, model, 0, 0, version)
        name = collection_name(probe)
        client = connect(target)
        try:
            if not client.has_collection(name):
                raise IndexMissing(
                    f"{dataset}: Milvus at {target} has no collection {name} (index version {version}, "
                    f"{model}); load it: aip vectors sync {dataset} [--env ENV]"
                )
            manifest = _stored_manifest(client, name, dataset_name, model, version)
            if manifest.chunks == 0:
                raise IndexMissing(
                    f"{dataset}: collection {name} at {target} is empty; load it: aip vectors sync {dataset}"
                )
            client.load_collection(name)
        except MilvusException as exc:
            client.close()
            raise VectorStoreUnavailable(f"Milvus at {target}: opening {name} failed: {exc.message}") from exc
        except Exception:
            client.close()
            raise
        return cls(client, target, name, manifest)

    def search(self, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        from pymilvus.exceptions import MilvusException

        queries = check_query(vectors, k, self.manifest)
        if self._client is None:
            raise VectorError(f"{self.manifest.dataset}: the Milvus store is closed")
        try:
            results = self._client.search(
                self.collection,
                data=queries.tolist(),
                limit=min(k, self.manifest.chunks),
                output_fields=list(_FIELDS),
                search_params={"metric_type": "IP"},
                timeout=TIMEOUT_S,
            )
        except MilvusException as exc:
            raise VectorStoreUnavailable(
                f"Milvus at {self.uri}: search in {self.collection} failed: {exc.message}"
            ) from exc
        return [
            [Hit(Chunk.from_dict(hit["entity"]), float(hit["distance"])) for hit in per_query]
            for per_query in results
        ]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _stored_manifest(client: Any, name: str, dataset: str, model: str, version: str) -> IndexManifest:
    """The manifest of collection `name`: what its name encodes, its vector dimension and row count."""
    fields = client.describe_collection(name).get("fields") or []
    dim = next((int(f["params"]["dim"]) for f in fields if f.get("name") == "vector"), 0)
    rows = int(client.get_collection_stats(name).get("row_count", 0))
    return IndexManifest(dataset=dataset, embedding_model=model, dim=dim, chunks=rows, version=version)
