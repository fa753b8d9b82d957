"""The engine's layers hold: import-linter's contracts (pyproject.toml) and no cross-package use of
private names. `make lint` runs the same two checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("TOOLS_VENV", ROOT / ".venv-tools"))
sys.path.insert(0, str(ROOT / "scripts"))
import check_private_names  # noqa: E402

sys.path.pop(0)


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = (TOOLS if TOOLS.is_absolute() else ROOT / TOOLS) / "bin" / "lint-imports"
    assert binary.exists(), f"{binary} missing: run `make tools-venv` (requirements/tools.txt)"
    return subprocess.run(
        [str(binary), "--no-cache"], cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )


def test_import_contracts_are_kept():
    proc = _lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in proc.stdout


def test_import_contracts_fail_on_an_upward_import(tmp_path: Path):
    """The contract is not vacuous: a lower layer importing a higher one breaks it."""
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "pipelines", copy / "pipelines", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    errors = copy / "pipelines" / "config" / "errors.py"
    errors.write_text(errors.read_text() + "\nfrom pipelines.deploy import controller  # upward\n")
    proc = _lint_imports(copy)
    assert proc.returncode == 1
    assert "pipelines.config is not allowed to import pipelines.deploy" in proc.stdout


def test_no_module_uses_another_packages_private_names():
    assert list(check_private_names.violations()) == []


def test_private_name_check_finds_an_attribute_and_an_import(tmp_path: Path):
    package = tmp_path / "pipelines"
    (package / "a").mkdir(parents=True)
    (package / "b").mkdir()
    (package / "a" / "mod.py").write_text("def _helper():\n    return 1\n")
    (package / "b" / "use.py").write_text(
        "from pipelines.a import mod\nfrom pipelines.a.mod import _helper\n\nmod._helper()\n"
    )
    (package / "a" / "same.py").write_text("from pipelines.a.mod import _helper\n")  # same package: fine
    found = list(check_private_names.violations(tmp_path))
    assert found == [
        "pipelines/b/use.py:2: imports pipelines.a.mod._helper",
        "pipelines/b/use.py:4: uses pipelines.a.mod._helper",
    ]
