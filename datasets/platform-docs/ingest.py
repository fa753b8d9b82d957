"""Ingest this repository's documentation: markdown files cut into chunks by heading section.

This is the dataset's own code, run by the DVC `ingest` stage (`aip data ingest platform-docs`). It reads
the markdown files that dataset.yaml's `include` globs match in the checkout this file lives in (two
folders up), and cuts each into chunks with `pipelines.data.documents.chunk_files`: sections at their
headings, long sections at paragraph breaks, short sibling sections packed together, every chunk at most
`max_chars` characters, carrying its repo-relative path, heading path and licence.
Rows come out sorted by (path, position in the file), so the CSV, hence its md5, is the same on every run.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.data.documents import MAX_CHARS, chunk_files

ROOT = Path(__file__).resolve().parents[2]  # datasets/platform-docs/ingest.py -> the repository root


def ingest(
    include: list[str],
    exclude: list[str] | None = None,
    licence: str = "Apache-2.0",
    max_chars: int = MAX_CHARS,
) -> pd.DataFrame:
    """Return columns id, path, heading, text, licence: one row per chunk."""
    return chunk_files(ROOT, include, exclude or [], licence=licence, max_chars=max_chars)
