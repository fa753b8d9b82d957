"""A model's fingerprint: the hash of everything that determines its trained weights.

Same fingerprint, same model: `aip run` trains and registers a fingerprint once, and every
later run and every later environment reuses that registered version. The parts are:

- config:        model.yaml without the parts that do not change the weights (description, card,
                 owner, evaluation gates, per-environment serving/rollout settings)
- dataset:       dataset.yaml of the training data without its description
- data:          the DVC data version (md5 of the split) of the dataset
- model_code:    any Python a model folder ships (models/<name>/**/*.py)
- pipeline_code: the engine code that turns data into weights (pipelines/train, pipelines/artifacts)
- lock:          the dependency lock (requirements/lock.txt)
- features:      only for a dataset with `features` (dataset.yaml): its Feast feature repo's Python
                 (the definitions training reads through) and pipelines/features; absent otherwise, so
                 other models' fingerprints do not change
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.repo.layout import Repo

# Keys of model.yaml that do not change what training produces.
_NOT_TRAINING = {"description", "owner", "evaluation", "environments", "monitoring", "card", "search"}
# Engine code whose change retrains every model.
TRAINING_CODE = ("pipelines/train", "pipelines/artifacts")
LOCK_FILE = "requirements/lock.txt"
FEATURES_CODE = "pipelines/features"  # reads a feature-store dataset's training rows


@dataclass(frozen=True)
class Fingerprint:
    digest: str  # sha256 hex of the parts
    parts: dict[str, str]  # part name -> its own sha256 (or data version)

    @property
    def short(self) -> str:
        return self.digest[:12]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()


def hash_files(root: Path, folders: list[Path], pattern: str = "*.py") -> str:
    """Hash of file paths (relative to root) and contents, independent of listing order."""
    digest = hashlib.sha256()
    files = sorted(
        p
        for folder in folders
        if folder.exists()
        for p in folder.rglob(pattern)
        if "__pycache__" not in p.parts
    )
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        # Normalise line endings so a Windows checkout fingerprints like Linux.
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def compute(repo: Repo, model_name: str, data_version: str) -> Fingerprint:
    """The fingerprint of `model_name` trained on data of `data_version`."""
    config = repo.model(model_name)
    dataset = repo.dataset(config.dataset)
    lock = repo.root / LOCK_FILE
    parts = {
        "config": sha256_hex(canonical_json(config.model_dump(mode="json", exclude=_NOT_TRAINING))),
        "dataset": sha256_hex(canonical_json(dataset.model_dump(mode="json", exclude={"description"}))),
        "data": data_version,
        "model_code": hash_files(repo.root, [repo.model_dir(model_name)]),
        "pipeline_code": hash_files(repo.root, [repo.root / p for p in TRAINING_CODE]),
        "lock": sha256_hex(lock.read_bytes().replace(b"\r\n", b"\n")) if lock.exists() else "none",
    }
    if dataset.features is not None:
        feature_repo = repo.dataset_dir(config.dataset) / dataset.features.repo
        parts["features"] = hash_files(repo.root, [feature_repo, repo.root / FEATURES_CODE])
    return Fingerprint(sha256_hex(canonical_json(parts)), parts)
