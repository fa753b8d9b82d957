"""docs/gitops.md lists every setting a fork can make: each `vars.X` and `secrets.X` the workflows use
is a row of its table "What a fork must set", with its kind, the workflows that use it, what happens
without it and the `aip ci require` line that checks it."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from tests.support.repo import REPO_ROOT

DOC = REPO_ROOT / "docs" / "gitops.md"
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.y*ml"))
USE = re.compile(r"\b(vars|secrets)\.([A-Za-z_][A-Za-z0-9_]*)")


def used() -> dict[tuple[str, str], set[str]]:
    """(vars|secrets, NAME) -> the workflow files that use it."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in WORKFLOWS:
        for kind, name in USE.findall(path.read_text(encoding="utf-8")):
            if (kind, name) != ("secrets", "GITHUB_TOKEN"):  # GitHub provides it
                found[(kind, name)].add(path.name)
    return found


def table() -> dict[str, dict[str, str]]:
    """The settings table: name -> its columns (a row may name several settings)."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## What a fork must set", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows: dict[str, dict[str, str]] = {}
    for line in lines[2:]:
        cells = dict(zip(header, (cell.strip() for cell in line.strip("|").split(" | ")), strict=True))
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells["name"]):
            rows[name] = cells
    return rows


def test_the_table_has_the_columns_a_fork_needs():
    some = next(iter(table().values()))
    assert list(some) == ["name", "kind", "workflow → job", "without it", "check"]


@pytest.mark.parametrize(("kind", "name"), sorted(used()))
def test_every_setting_a_workflow_uses_is_documented(kind: str, name: str):
    rows = table()
    assert name in rows, f"{kind}.{name} ({', '.join(sorted(used()[(kind, name)]))}) is not in docs/gitops.md"
    row = rows[name]
    assert ("variable" if kind == "vars" else "secret") in row["kind"], (name, row["kind"])
    for workflow in used()[(kind, name)]:
        assert workflow in row["workflow → job"], f"{name}: {workflow} is not named in its row"
    assert row["without it"], name
    assert re.search(rf"`aip ci require [^`]*\b{name}\b[^`]*--for ", row["check"]), (name, row["check"])


def test_every_documented_setting_is_used_by_a_workflow():
    names = {name for _, name in used()}
    assert set(table()) <= names, sorted(set(table()) - names)
