"""Markdown documents cut into chunks for retrieval: the ingest of a `documents` dataset.

A documents dataset's `ingest.py` names its files (globs under the repository root) and calls
`chunk_files`; the rows it returns are the chunks the `index` stage embeds (pipelines/vectors). Each
chunk is a piece of one file under one heading path, small enough for the embedding model's window:

1. Split a file into sections at its ATX headings (`#` .. `######`; a `#` inside a fenced code block is
   code, not a heading). A section's heading is its path of headings, `Deploy > Canary > Analysis`;
   text before the first heading sits under the file's own name.
2. A section longer than `max_chars` is cut at paragraph breaks (blank lines outside code fences),
   the paragraphs packed greedily up to `max_chars`; a paragraph longer than that is cut at line
   breaks, a line at the last space before the limit.
3. A short section's subsections are packed into its chunk up to `max_chars`, their headings kept in
   the text (`## Analysis`); a chunk still under MIN_CHARS also takes the next sibling section, and is
   then headed by the heading path they share. So a chunk is rarely a lone line ("Status: Accepted.")
   and its heading still says what it holds.

Nothing depends on the machine: files are read in sorted order with `\n` line endings, trailing spaces
dropped, and rows come out sorted by (path, position), so the CSV (hence its md5, the dataset's
version) is the same on every clone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.config.dataset import DOCUMENT_COLUMNS
from pipelines.data.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

MAX_CHARS = 1200  # MiniLM reads 256 word pieces, about 1,000-1,200 characters of English prose
MIN_CHARS = 200  # a chunk shorter than this takes its next sibling section in too ("Status: Accepted.")
HEADING_SEPARATOR = " > "  # between the levels of a heading path
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class DocumentChunk:
    """One row of a documents dataset (the columns of DOCUMENT_COLUMNS)."""

    id: str
    """`<path>:<n>`, n counting the file's chunks from 0."""
    path: str
    heading: str
    text: str
    licence: str


@dataclass(frozen=True)
class _Section:
    headings: tuple[str, ...]
    level: int
    title_line: str
    body: str


def source_files(root: Path, include: Sequence[str], exclude: Sequence[str] = ()) -> list[str]:
    """Repo-relative POSIX paths of the files matching `include` and no `exclude` glob, sorted."""
    found: set[str] = set()
    for pattern in include:
        matches = [p for p in root.glob(pattern) if p.is_file()]
        if not matches:
            raise DataError(f"the source glob '{pattern}' matches no file under {root}")
        found.update(p.relative_to(root).as_posix() for p in matches)
    excluded = {p.relative_to(root).as_posix() for pattern in exclude for p in root.glob(pattern)}
    return sorted(found - excluded)


def chunk_files(
    root: Path,
    include: Sequence[str],
    exclude: Sequence[str] = (),
    *,
    licence: str,
    max_chars: int = MAX_CHARS,
) -> pd.DataFrame:
    """Every chunk of every matching markdown file, as a frame with DOCUMENT_COLUMNS."""
    import pandas as pd

    rows: list[DocumentChunk] = []
    for path in source_files(root, include, exclude):
        text = (root / path).read_text(encoding="utf-8")
        rows.extend(chunk_markdown(path, text, licence=licence, max_chars=max_chars))
    if not rows:
        raise DataError(f"no text in the files matching {list(include)} under {root}")
    return pd.DataFrame([[getattr(r, c) for c in DOCUMENT_COLUMNS] for r in rows], columns=DOCUMENT_COLUMNS)


def chunk_markdown(path: str, text: str, *, licence: str, max_chars: int = MAX_CHARS) -> list[DocumentChunk]:
    """The chunks of one markdown file (see the module docstring for the rules)."""
    if max_chars < 100:
        raise DataError(f"max_chars must be at least 100 (got {max_chars})")
    pieces: list[tuple[str, str]] = []  # (heading, text)
    group: list[_Section] = []
    for section in _sections(path, text):
        if not section.body:
            continue  # a heading directly followed by a deeper one: it lives on in the deeper heading path
        if group and _fits(group, section, max_chars):
            group.append(section)
            continue
        if group:
            pieces.append(_pack(group))
        group = [section]
        if len(section.body) > max_chars:
            heading = HEADING_SEPARATOR.join(section.headings)
            pieces.extend((heading, part) for part in _split_long(section.body, max_chars))
            group = []
    if group:
        pieces.append(_pack(group))
    return [
        DocumentChunk(id=f"{path}:{n}", path=path, heading=heading, text=body, licence=licence)
        for n, (heading, body) in enumerate(pieces)
    ]


def _sections(path: str, text: str) -> Iterable[_Section]:
    """The file's sections in order: heading path, level, the heading line, and the stripped body."""
    stack: list[tuple[int, str]] = []
    title_line, level, body = "", 0, []
    fence: str | None = None
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            body.append(line)
            continue
        if opened:
            fence = opened.group(1)
            body.append(line)
            continue
        heading = _HEADING.match(line)
        if heading is None:
            body.append(line)
            continue
        yield _section(path, stack, level, title_line, body)
        level, title = len(heading.group(1)), heading.group(2).strip()
        stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, title)]
        title_line, body = line.strip(), []
    yield _section(path, stack, level, title_line, body)


def _section(
    path: str, stack: list[tuple[int, str]], level: int, title_line: str, body: list[str]
) -> _Section:
    headings = tuple(title for _, title in stack) or (Path(path).name,)
    return _Section(headings, level, title_line, re.sub(r"\n{3,}", "\n\n", "\n".join(body)).strip())


def _fits(group: list[_Section], section: _Section, max_chars: int) -> bool:
    """Pack `section` into the group when it sits under the first section, or beside it while the group
    is still shorter than MIN_CHARS, and the result fits in `max_chars`."""
    first = group[0].headings
    below = len(section.headings) > len(first) and section.headings[: len(first)] == first
    beside = len(section.headings) >= len(first) and section.headings[: len(first) - 1] == first[:-1]
    packed = _pack(group)[1]
    if not (below or (beside and len(packed) < MIN_CHARS)):
        return False
    return len(packed) + 2 + len(_titled(section)) <= max_chars


def _titled(section: _Section) -> str:
    return f"{section.title_line}\n\n{section.body}".strip() if section.title_line else section.body


def _pack(group: list[_Section]) -> tuple[str, str]:
    """(the heading path the sections share, the first body then the others with their heading lines)."""
    shared = group[0].headings
    for section in group[1:]:
        common = 0
        while common < min(len(shared), len(section.headings)) and shared[common] == section.headings[common]:
            common += 1
        shared = shared[:common] or shared
    first = group[0].body if shared == group[0].headings else _titled(group[0])
    return HEADING_SEPARATOR.join(shared), "\n\n".join([first, *(_titled(s) for s in group[1:])]).strip()


def _split_long(body: str, max_chars: int) -> list[str]:
    """Cut a long section at paragraph breaks (code fences kept whole where they fit), then lines."""
    parts: list[str] = []
    current = ""
    for paragraph in _paragraphs(body):
        for piece in _fit(paragraph, max_chars, "\n"):
            if current and len(current) + 2 + len(piece) > max_chars:
                parts.append(current)
                current = ""
            current = f"{current}\n\n{piece}" if current else piece
    if current:
        parts.append(current)
    return parts


def _paragraphs(body: str) -> list[str]:
    """Blank-line separated blocks; a fenced code block with blank lines inside stays one block."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in body.split("\n"):
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None and opened and opened.group(1)[0] == fence[0]:
            fence = None
        if not line.strip() and fence is None:
            if current:
                blocks.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _fit(text: str, max_chars: int, separator: str) -> list[str]:
    """`text` in pieces of at most `max_chars`: whole lines packed, a too-long line cut at a space."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.split(separator):
        for part in _cut(line, max_chars):
            if current and len(current) + len(separator) + len(part) > max_chars:
                pieces.append(current)
                current = ""
            current = f"{current}{separator}{part}" if current else part
    if current:
        pieces.append(current)
    return pieces


def _cut(line: str, max_chars: int) -> list[str]:
    """A line in pieces of at most `max_chars`, cut at the last space before the limit when there is one."""
    parts = []
    while len(line) > max_chars:
        cut = line.rfind(" ", 0, max_chars + 1)
        cut = cut if cut > max_chars // 2 else max_chars
        parts.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
    return [*parts, line] if line else parts
