"""A dataset's version: an md5 DVC recorded in the committed dvc.lock.

- split datasets (kinds `text`, `tabular`): the md5 of the split stage's `data/splits` output;
- documents datasets (ingest -> validate -> index): the md5 of the ingest stage's `data/raw.csv`, the
  chunks themselves. The index is derived from them (its float bits may differ in the last place
  between CPUs, so its own md5 is no version); the index's version, in its manifest, is a hash of this
  md5, the embedding model and the index format (pipelines/vectors `index_version`).

Reading the lock (not hashing files) makes the version a property of the commit: the same commit gives
the same version on every machine, before any data is pulled, which is what fingerprints need.
"""

from __future__ import annotations

from pipelines.data._paths import lock_file
from pipelines.data.errors import DataError
from pipelines.repo.layout import Repo

SPLITS_OUT = "data/splits"  # the split stage's output, as dvc.yaml names it
RAW_OUT = "data/raw.csv"  # the ingest stage's output: a documents dataset's chunks
INDEX_OUT = "data/index"  # the index stage's output (a documents dataset)
_DIR_SUFFIX = ".dir"  # DVC marks directory hashes with it


def data_version(repo: Repo, dataset: str) -> str:
    """The 32-hex md5 of `data/splits` (DVC's `.dir` hash, suffix dropped), or of `data/raw.csv` for a
    documents dataset (one whose lock has an `data/index` output); DataError when not locked yet."""
    from ruamel.yaml import YAML

    lock = lock_file(repo, dataset)
    if not lock.is_file():
        raise DataError(f"{dataset}: {lock} does not exist; run `aip data prepare {dataset}` and commit it")
    data = YAML(typ="safe").load(lock.read_text(encoding="utf-8")) or {}
    outs = {
        str(out.get("path", "")).rstrip("/"): str(out.get("md5") or "")
        for stage in (data.get("stages") or {}).values()
        for out in stage.get("outs") or []
    }
    if outs.get(SPLITS_OUT):
        return outs[SPLITS_OUT].removesuffix(_DIR_SUFFIX)
    if INDEX_OUT in outs:
        if outs.get(RAW_OUT):
            return outs[RAW_OUT]
        raise DataError(f"{dataset}: {lock} records no md5 for {RAW_OUT}; run `aip data prepare {dataset}`")
    raise DataError(f"{dataset}: {lock} records no md5 for {SPLITS_OUT}; run `aip data prepare {dataset}`")
