"""A Great Expectations suite stored in the repo as commented YAML, and its loader.

The format is GX's own expectation configuration (`type` + `kwargs`), so anyone who knows GX can read
it, plus one house rule: every expectation has a comment line directly above it naming the failure it
guards (`# data leak: ...`, `# missing values`). The comment is not decoration: it is carried into the
failure summary, so the person whose run stopped reads *why* the check exists, not just that it failed.

    expectations:
      # missing values: an empty utterance teaches the model nothing
      - type: expect_column_values_to_not_be_null
        kwargs: {column: text}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.config import load_yaml
from pipelines.config.errors import ConfigError, Problem

_TOP_KEYS = ("name", "expectations")
_ITEM_KEYS = ("type", "kwargs")


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation as written in the suite file."""

    type: str
    kwargs: dict[str, Any]
    guards: str
    """The comment above it: the failure it guards against."""
    line: int
    """1-based line of the item in the suite file."""

    @property
    def column(self) -> str | None:
        column = self.kwargs.get("column")
        return str(column) if column is not None else None


@dataclass(frozen=True)
class Suite:
    """A dataset's expectations, in file order."""

    path: Path
    name: str
    expectations: list[ExpectationSpec] = field(default_factory=list)


def load_suite(path: Path) -> Suite:
    """Read and check a suite file; raise ConfigError naming file, line and key for every problem."""
    data, tree = load_yaml(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise ConfigError([Problem(path, 1, "", "expected a mapping with an `expectations` list")])
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(
                Problem(path, _key_line(tree, key), str(key), f"unknown key; allowed: {', '.join(_TOP_KEYS)}")
            )
    items = data.get("expectations")
    if not isinstance(items, list) or not items:
        line = _key_line(tree, "expectations")
        problems.append(Problem(path, line, "expectations", "must be a non-empty list of {type, kwargs}"))
        raise ConfigError(problems)
    seq = tree["expectations"]
    specs: list[ExpectationSpec] = []
    for index, item in enumerate(items):
        key = f"expectations.{index}"
        line = seq.lc.item(index)[0] + 1
        if not isinstance(item, dict):
            problems.append(Problem(path, line, key, "must be a mapping with `type` and `kwargs`"))
            continue
        unknown = [k for k in item if k not in _ITEM_KEYS]
        if unknown:
            problems.append(
                Problem(path, line, f"{key}.{unknown[0]}", f"unknown key; allowed: {', '.join(_ITEM_KEYS)}")
            )
        kind = item.get("type")
        if not isinstance(kind, str) or not kind.startswith("expect_"):
            problems.append(Problem(path, line, f"{key}.type", "must name a GX expectation (expect_...)"))
            continue
        kwargs = item.get("kwargs", {})
        if not isinstance(kwargs, dict):
            problems.append(
                Problem(path, line, f"{key}.kwargs", "must be a mapping of the expectation's arguments")
            )
            continue
        guards = _comment_above(lines, line)
        if not guards:
            problems.append(
                Problem(
                    path,
                    line,
                    key,
                    f"{kind} has no comment above it naming the failure it guards (e.g. `# missing values`)",
                )
            )
            continue
        specs.append(ExpectationSpec(type=kind, kwargs=dict(kwargs), guards=guards, line=line))
    if problems:
        raise ConfigError(problems)
    return Suite(path=path, name=str(data.get("name") or path.parent.name), expectations=specs)


def _comment_above(lines: list[str], line: int) -> str:
    """The block of `#` lines directly above 1-based `line`, joined; "" when there is none."""
    found: list[str] = []
    index = line - 2
    while index >= 0 and lines[index].strip().startswith("#"):
        found.append(lines[index].strip().lstrip("#").strip())
        index -= 1
    return " ".join(reversed([text for text in found if text]))


def _key_line(tree: Any, key: str) -> int | None:
    try:
        return int(tree.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return None
