"""Markdown cut into chunks: sections by heading, long ones by paragraph, short siblings packed, and
the same bytes on every run (the chunks' md5 is the dataset's version)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from pipelines.data import DataError
from pipelines.data._csv import write_csv
from pipelines.data.documents import chunk_files, chunk_markdown, source_files
from pipelines.repo.layout import Repo
from tests.support.repo import REPO_ROOT

LICENCE = "Apache-2.0"


def _chunks(text: str, max_chars: int = 1200):  # type: ignore[no-untyped-def]
    return chunk_markdown("docs/x.md", text, licence=LICENCE, max_chars=max_chars)


def test_each_chunk_carries_its_heading_path_and_an_id_of_path_and_position():
    text = "# Guide\n\nIntro.\n\n## Install\n\n" + "Install words. " * 100 + "\n\n# Other\n\nOther text.\n"
    chunks = _chunks(text, max_chars=800)
    assert [c.heading for c in chunks] == ["Guide", "Guide > Install", "Guide > Install", "Other"]
    assert [c.id for c in chunks] == [f"docs/x.md:{n}" for n in range(4)]
    assert {c.path for c in chunks} == {"docs/x.md"} and {c.licence for c in chunks} == {LICENCE}


def test_a_hash_inside_a_code_fence_is_code_not_a_heading():
    text = "# Title\n\n```bash\n# not a heading\nmake run\n```\n\nAfter the code.\n"
    (chunk,) = _chunks(text)
    assert chunk.heading == "Title"
    assert "# not a heading" in chunk.text and "After the code." in chunk.text


def test_a_long_section_is_cut_at_paragraphs_within_the_limit_and_loses_no_word():
    paragraphs = [f"Paragraph {i} " + "word " * (20 + 3 * i) for i in range(12)]  # each under 400
    text = "# Long\n\n" + "\n\n".join(paragraphs) + "\n"
    chunks = _chunks(text, max_chars=400)
    assert len(chunks) > 3
    assert all(len(c.text) <= 400 for c in chunks)
    assert " ".join(" ".join(c.text.split()) for c in chunks) == " ".join(" ".join(paragraphs).split())
    assert all(c.text.startswith("Paragraph") for c in chunks), "cuts fall between paragraphs"


def test_a_line_longer_than_the_limit_is_cut_at_a_space():
    line = " ".join(f"w{i:04d}" for i in range(600))  # 3,599 characters, no newline
    chunks = _chunks(f"# One line\n\n{line}\n", max_chars=500)
    assert all(len(c.text) <= 500 for c in chunks)
    assert " ".join(c.text for c in chunks) == line


def test_short_subsections_are_packed_under_their_section_and_a_sibling_starts_a_new_chunk():
    alpha = "alpha " * 50  # over MIN_CHARS: the section stands on its own
    text = f"# A\n\n{alpha}\n\n## A1\n\none\n\n## A2\n\ntwo\n\n# B\n\nbeta\n"
    chunks = _chunks(text)
    assert [(c.heading, c.text) for c in chunks] == [
        ("A", f"{alpha.strip()}\n\n## A1\n\none\n\n## A2\n\ntwo"),
        ("B", "beta"),
    ]


def test_a_tiny_section_takes_its_next_sibling_under_the_heading_they_share():
    text = "# ADR 1\n\n## Status\n\nAccepted.\n\n## Context\n\nWhy we did it.\n"
    (chunk,) = _chunks(text)
    assert chunk.heading == "ADR 1"
    assert chunk.text == "## Status\n\nAccepted.\n\n## Context\n\nWhy we did it."


def test_text_before_the_first_heading_sits_under_the_file_name_and_line_endings_do_not_matter():
    unix = "Preamble line.\n\n# Title\n\nBody.\n"
    assert _chunks(unix)[0].heading == "x.md"
    assert _chunks(unix.replace("\n", "\r\n")) == _chunks(unix)


def test_a_glob_that_matches_nothing_is_an_error_naming_it(tmp_path: Path):
    (tmp_path / "README.md").write_text("# R\n\ntext\n")
    with pytest.raises(DataError, match=r"'docs/\*\*/\*\.md' matches no file"):
        source_files(tmp_path, ["README.md", "docs/**/*.md"])


def _real_frame():  # type: ignore[no-untyped-def]
    cfg = Repo(REPO_ROOT).dataset("platform-docs")
    return chunk_files(
        REPO_ROOT, cfg.ingest["include"], licence=cfg.ingest["licence"], max_chars=cfg.ingest["max_chars"]
    )


def test_ingesting_the_real_docs_twice_writes_the_same_bytes(tmp_path: Path):
    first = write_csv(_real_frame(), tmp_path / "a.csv").read_bytes()
    second = write_csv(_real_frame(), tmp_path / "b.csv").read_bytes()
    assert hashlib.md5(first).hexdigest() == hashlib.md5(second).hexdigest()


def test_the_committed_lock_records_the_chunks_of_the_docs_as_they_are():
    """A doc edited without `aip data prepare platform-docs` leaves the index answering from old text."""
    from ruamel.yaml import YAML

    lock = YAML(typ="safe").load((REPO_ROOT / "datasets/platform-docs/dvc.lock").read_text())
    recorded = next(o["md5"] for o in lock["stages"]["ingest"]["outs"] if o["path"] == "data/raw.csv")
    import io

    buffer = io.StringIO()
    _real_frame().to_csv(buffer, index=False, float_format="%.10g", lineterminator="\n")
    assert hashlib.md5(buffer.getvalue().encode()).hexdigest() == recorded, (
        "datasets/platform-docs/dvc.lock is stale: run `aip data prepare platform-docs` and commit it"
    )


def test_the_ingest_stage_depends_on_exactly_the_files_its_globs_read():
    """A README added to `include` but not to dvc.yaml would not re-run the index when it changes."""
    from ruamel.yaml import YAML

    folder = REPO_ROOT / "datasets" / "platform-docs"
    cfg = Repo(REPO_ROOT).dataset("platform-docs")
    deps = YAML(typ="safe").load((folder / "dvc.yaml").read_text())["stages"]["ingest"]["deps"]
    dep_paths = [(folder / d).resolve().relative_to(REPO_ROOT).as_posix() for d in deps]
    read = source_files(REPO_ROOT, cfg.ingest["include"])
    uncovered = [p for p in read if not any(p == d or p.startswith(d + "/") for d in dep_paths)]
    assert not uncovered, f"add to datasets/platform-docs/dvc.yaml's ingest deps: {uncovered}"
    markdown_deps = [d for d in dep_paths if d.endswith(".md")]
    unread = [d for d in markdown_deps if d not in read]
    assert not unread, f"dvc.yaml lists files dataset.yaml's include does not read: {unread}"


def test_the_real_chunks_pass_the_suite():
    from pipelines.data.expectations import load_suite
    from pipelines.data.validation import validate_frame

    suite = load_suite(REPO_ROOT / "datasets" / "platform-docs" / "expectations.yaml")
    report = validate_frame(_real_frame(), suite.expectations, dataset="platform-docs")
    assert report.success, report.summary()


def test_the_suite_stops_a_chunk_with_a_leaked_secret_or_a_machine_path():
    from pipelines.data.expectations import load_suite
    from pipelines.data.validation import validate_frame

    frame = _real_frame()
    frame.loc[0, "text"] = "the key is AKIAABCDEFGHIJKLMNOP, keep it"
    frame.loc[1, "path"] = "/home/someone/docs/x.md"
    suite = load_suite(REPO_ROOT / "datasets" / "platform-docs" / "expectations.yaml")
    report = validate_frame(frame, suite.expectations, dataset="platform-docs")
    failed = {(f.expectation, f.column) for f in report.failed}
    assert ("expect_column_values_to_not_match_regex", "text") in failed
    assert ("expect_column_values_to_match_regex", "path") in failed
    assert re.search(r"leaked secrets", report.summary())
