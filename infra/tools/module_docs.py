"""Regenerate the Inputs and Outputs tables of every module README from variables.tf and outputs.tf.

    python3 infra/tools/module_docs.py          # rewrite the tables
    python3 infra/tools/module_docs.py --check  # exit 1 when a README is out of date (tests/infra)

Everything above `## Inputs` is hand-written and kept.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MODULES = Path(__file__).resolve().parents[1] / "modules"


def _blocks(text: str, kind: str) -> list[tuple[str, str]]:
    return re.findall(rf'^{kind} "([^"]+)" \{{(.*?)^\}}', text, re.MULTILINE | re.DOTALL)


def tables(module: Path) -> str:
    rows = ["## Inputs", "", "| name | type | description |", "| --- | --- | --- |"]
    for name, body in _blocks((module / "variables.tf").read_text(), "variable"):
        desc = re.search(r'description\s*=\s*"((?:[^"\\]|\\.)*)"', body)
        typ = re.search(r"^\s*type\s*=\s*(.+)$", body, re.MULTILINE)
        required = " (required)" if not re.search(r"^\s*default\s*=", body, re.MULTILINE) else ""
        rows.append(f"| `{name}` | `{typ.group(1).strip() if typ else ''}`{required} | {desc.group(1) if desc else ''} |")
    rows += ["", "## Outputs", "", "| name | description |", "| --- | --- |"]
    for name, body in _blocks((module / "outputs.tf").read_text(), "output"):
        desc = re.search(r'description\s*=\s*"((?:[^"\\]|\\.)*)"', body)
        rows.append(f"| `{name}` | {desc.group(1) if desc else ''} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str]) -> int:
    stale = []
    for module in sorted(p for p in MODULES.iterdir() if p.is_dir()):
        readme = module / "README.md"
        text = readme.read_text()
        head = text.split("## Inputs", 1)[0].rstrip() + "\n\n"
        new = head + tables(module)
        if new != text:
            stale.append(str(readme))
            if "--check" not in argv:
                readme.write_text(new)
    if stale and "--check" in argv:
        print("out of date (run python3 infra/tools/module_docs.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
