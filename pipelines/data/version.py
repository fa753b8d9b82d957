"""A dataset's version: the md5 DVC recorded for its `data/splits` output in the committed dvc.lock.

Reading the lock (not hashing files) makes the version a property of the commit: the same commit gives
the same version on every machine, before any data is pulled, which is what fingerprints need.
"""

from __future__ import annotations

from pipelines.data._paths import lock_file
from pipelines.data.errors import DataError
from pipelines.repo.layout import Repo

SPLITS_OUT = "data/splits"  # the split stage's output, as dvc.yaml names it
_DIR_SUFFIX = ".dir"  # DVC marks directory hashes with it


def data_version(repo: Repo, dataset: str) -> str:
    """The 32-hex md5 of `data/splits` (DVC's `.dir` hash, suffix dropped); DataError when not locked yet."""
    from ruamel.yaml import YAML

    lock = lock_file(repo, dataset)
    if not lock.is_file():
        raise DataError(f"{dataset}: {lock} does not exist; run `aip data prepare {dataset}` and commit it")
    data = YAML(typ="safe").load(lock.read_text(encoding="utf-8")) or {}
    stages = data.get("stages") or {}
    for stage in stages.values():
        for out in stage.get("outs") or []:
            if out.get("path", "").rstrip("/") == SPLITS_OUT and out.get("md5"):
                return str(out["md5"]).removesuffix(_DIR_SUFFIX)
    raise DataError(f"{dataset}: {lock} records no md5 for {SPLITS_OUT}; run `aip data prepare {dataset}`")
