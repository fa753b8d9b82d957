#!/usr/bin/env python3
"""No module of `pipelines` uses another package's private (`_name`) functions, classes or constants.

import-linter's `private_modules` contract (pyproject.toml) covers private *modules*; this covers
private *names*: `from pipelines.lifecycle.steps import _log_model` or `steps._log_model(...)` from
outside `pipelines.lifecycle` fail. Inside one package, private names are shared freely.

    python scripts/check_private_names.py     # exit 0 clean, 1 with one line per use (make lint)
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _package(module: str) -> str:
    """`pipelines.deploy.controller` -> `pipelines.deploy`; top-level modules are their own package."""
    return ".".join(module.split(".")[:2])


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def violations(root: Path = ROOT) -> Iterator[str]:
    for path in sorted((root / "pipelines").rglob("*.py")):
        here = _module_name(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        aliases: dict[str, str] = {}  # local name -> pipelines module it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipelines"):
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    if _private(alias.name) and _package(node.module) != _package(here):
                        yield f"{path.relative_to(root)}:{node.lineno}: imports {target}"
                    aliases[alias.asname or alias.name] = target
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("pipelines") and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and _package(aliases[node.value.id]) != _package(here)
            ):
                yield f"{path.relative_to(root)}:{node.lineno}: uses {aliases[node.value.id]}.{node.attr}"


def main() -> int:
    found = list(violations())
    for line in found:
        print(f"error: {line} (private to its package; make it public or move the caller)", file=sys.stderr)
    if not found:
        print("ok: no module uses another package's private names")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
