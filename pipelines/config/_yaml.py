"""YAML loading that remembers where every key came from.

ruamel.yaml (YAML 1.2, so `5e-5` is a float and `no` is a string) keeps line and
column for each mapping key and sequence item; pydantic reports error locations as
key paths. `line_of` joins the two so every error names its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from pipelines.config.errors import ConfigError, Problem


def load_yaml(path: Path) -> tuple[Any, Any]:
    """Return (plain data, ruamel tree with positions); raise ConfigError on bad YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(path, None, "", "file not found")]) from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ConfigError([Problem(path, line, "", f"malformed YAML: {what}")]) from None
    if tree is None:
        raise ConfigError([Problem(path, None, "", "file is empty; expected a mapping")])
    return to_plain(tree), tree


def to_plain(node: Any) -> Any:
    """Convert ruamel's round-trip types into dict/list/str/int/float/bool/None."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def line_of(tree: Any, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest existing node on `loc`, or None."""
    line: int | None = None
    node = tree
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    if line is None and isinstance(tree, CommentedMap):
        return int(tree.lc.line) + 1
    return line
