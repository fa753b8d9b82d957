"""Read the tables of an evaluation report.md (written by pipelines/evaluate/report.py).

The evaluation run logs its report, not its intervals or behavioural cases as metrics; the card takes
them from the report's markdown tables, by heading and column name, so a new column breaks nothing.
"""

from __future__ import annotations

__all__ = ["markdown_tables"]


def _cells(line: str) -> list[str]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    cells, current, escaped = [], [], False
    for char in inner:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    cells.append("".join(current).strip())
    return cells


def markdown_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """`## Heading` -> the rows of the first table under it, each a {column: cell} dict."""
    tables: dict[str, list[dict[str, str]]] = {}
    heading = ""
    header: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            heading, header = line[3:].strip(), None
            continue
        if not line.startswith("|") or not heading:
            header = None if not line.strip() else header
            continue
        cells = _cells(line)
        if header is None:
            if heading in tables:
                continue  # only the first table under a heading
            header = cells
            tables[heading] = []
        elif all(set(c) <= {"-", ":"} and c for c in cells):
            continue  # the separator row
        else:
            tables[heading].append(dict(zip(header, cells, strict=False)))
    return tables
