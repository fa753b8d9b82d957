"""The `documents` dataset kind: its config rules, its data version, and no split stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_dataset
from pipelines.data import DataError, data_version, split
from pipelines.repo.layout import Repo
from tests.support.repo import REPO_ROOT

BASE = """\
name: docs
description: d
license: Apache-2.0
source: s
kind: documents
"""


def _dataset(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "dataset.yaml").write_text(text)
    return folder / "dataset.yaml"


def test_a_documents_dataset_has_the_chunk_columns_and_the_default_embedding_model(tmp_path: Path):
    cfg = load_dataset(_dataset(tmp_path, BASE))
    assert cfg.columns == ["id", "path", "heading", "text", "licence"]
    assert cfg.embedding_model == "all-minilm-l6-v2"


def test_a_documents_dataset_refuses_a_label_or_a_split_naming_them(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"kind 'documents' takes no label_column, split"):
        load_dataset(_dataset(tmp_path, BASE + "label_column: topic\nsplit: {seed: 1}\n"))


def test_an_index_section_on_a_text_dataset_is_an_error(tmp_path: Path):
    text = BASE.replace("kind: documents", "kind: text\ntext_column: text") + "index: {embedding_model: x}\n"
    with pytest.raises(ConfigError, match=r"index is only for kind 'documents' \(this dataset is text\)"):
        load_dataset(_dataset(tmp_path, text))


def test_the_repo_docs_dataset_loads():
    cfg = Repo(REPO_ROOT).dataset("platform-docs")
    assert cfg.kind == "documents" and cfg.license == "Apache-2.0"


LOCK = """\
schema: '2.0'
stages:
  ingest:
    cmd: aip data ingest docs
    outs:
    - path: data/raw.csv
      hash: md5
      md5: 0123456789abcdef0123456789abcdef
      size: 10
  index:
    cmd: aip vectors build docs
    outs:
    - path: data/index
      hash: md5
      md5: fedcba9876543210fedcba9876543210.dir
      size: 20
      nfiles: 3
"""


def test_the_data_version_of_a_documents_dataset_is_the_md5_of_its_chunks(tmp_path: Path):
    folder = tmp_path / "datasets" / "docs"
    folder.mkdir(parents=True)
    (folder / "dvc.lock").write_text(LOCK)
    assert data_version(Repo(tmp_path), "docs") == "0123456789abcdef0123456789abcdef"


def test_a_documents_dataset_is_not_split(tmp_path: Path):
    with pytest.raises(DataError, match=r"indexed, not split: run `aip vectors build platform-docs`"):
        split(Repo(REPO_ROOT), "platform-docs")
