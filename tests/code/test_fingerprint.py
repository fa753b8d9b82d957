"""Fingerprints change exactly when the trained weights could change."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.registry.fingerprint import compute
from pipelines.repo.layout import Repo

DATA = "0123456789abcdef0123456789abcdef.dir"


@pytest.fixture
def repo(repo_copy: Path) -> Repo:
    return Repo(repo_copy)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_same_inputs_give_the_same_fingerprint(repo):
    assert compute(repo, "tumor-classifier", DATA) == compute(repo, "tumor-classifier", DATA)


def test_models_have_different_fingerprints(repo):
    assert compute(repo, "tumor-classifier", DATA).digest != compute(repo, "topic-classifier", DATA).digest


def test_training_parameter_changes_the_fingerprint(repo):
    before = compute(repo, "tumor-classifier", DATA)
    edit(repo.model_dir("tumor-classifier") / "model.yaml", "epochs: 60", "epochs: 61")
    after = compute(repo, "tumor-classifier", DATA)
    assert before.digest != after.digest
    assert [k for k in before.parts if before.parts[k] != after.parts[k]] == ["config"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("owner: ml ", "owner: data "),
        ("      min: 0.92", "      min: 0.91"),
        ("      replicas: 2", "      replicas: 3"),
    ],
    ids=["owner", "gate", "serving"],
)
def test_settings_that_do_not_change_weights_keep_the_fingerprint(repo, old, new):
    before = compute(repo, "tumor-classifier", DATA)
    edit(repo.model_dir("tumor-classifier") / "model.yaml", old, new)
    assert compute(repo, "tumor-classifier", DATA) == before


def test_data_version_changes_the_fingerprint(repo):
    other = "fedcba9876543210fedcba9876543210.dir"
    assert compute(repo, "tumor-classifier", DATA).digest != compute(repo, "tumor-classifier", other).digest


def test_model_code_changes_the_fingerprint(repo):
    before = compute(repo, "tumor-classifier", DATA)
    (repo.model_dir("tumor-classifier") / "features.py").write_text("SCALE = 2\n")
    after = compute(repo, "tumor-classifier", DATA)
    assert after.parts["model_code"] != before.parts["model_code"]
    assert compute(repo, "topic-classifier", DATA) == compute(repo, "topic-classifier", DATA)


def test_training_code_changes_every_fingerprint_but_other_engine_code_does_not(repo):
    before = {m: compute(repo, m, DATA).digest for m in repo.model_names()}
    (repo.root / "pipelines" / "registry" / "extra.py").write_text("X = 1\n")
    assert {m: compute(repo, m, DATA).digest for m in repo.model_names()} == before
    (repo.root / "pipelines" / "train" / "extra.py").write_text("X = 1\n")
    after = {m: compute(repo, m, DATA).digest for m in repo.model_names()}
    assert all(after[m] != before[m] for m in before)


def test_dependency_lock_changes_the_fingerprint(repo):
    before = compute(repo, "tumor-classifier", DATA)
    lock = repo.root / "requirements" / "lock.txt"
    lock.write_text(lock.read_text() + "extra-package==1.0\n")
    assert compute(repo, "tumor-classifier", DATA).parts["lock"] != before.parts["lock"]


def test_line_endings_do_not_change_the_fingerprint(repo):
    before = compute(repo, "tumor-classifier", DATA)
    for path in (repo.root / "pipelines" / "train").rglob("*.py"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert compute(repo, "tumor-classifier", DATA) == before
