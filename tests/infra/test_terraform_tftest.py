"""`terraform test` of the modules (`tests/*.tftest.hcl`), run by `make infra-check` (step `test`).

context runs as is (no provider); github-oidc, budgets and eks-cluster run on a stand-in copy whose
AWS resources are builtin `terraform_data`, so their inputs, validations and keys are under test,
not AWS's behaviour (the edge: infra.yml validates against the real provider schemas).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.infra import INFRA

pytestmark = [pytest.mark.infra, pytest.mark.slow]


def test_every_module_test_passes_and_the_expected_modules_have_tests(infra_check):
    proc = infra_check("test")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for module in ("context (6 runs as is)", "github-oidc", "budgets", "eks-cluster"):
        assert module in proc.stdout, proc.stdout


def test_every_module_test_file_checks_a_validation_with_expect_failures():
    files = sorted(INFRA.glob("modules/*/tests/*.tftest.hcl"))
    assert len(files) >= 4
    for path in files:
        assert "expect_failures = [var." in path.read_text(), f"{path} tests no validation"


def test_a_weakened_validation_makes_its_test_fail(tools_python, tmp_path: Path):
    module = tmp_path / "context"
    shutil.copytree(INFRA / "modules" / "context", module, ignore=shutil.ignore_patterns(".terraform*"))
    variables = module / "variables.tf"
    text = variables.read_text()
    guarded = 'contains(["dev", "staging", "prod"], var.environment)'
    assert guarded in text
    variables.write_text(text.replace(guarded, 'var.environment != ""  # weakened'))
    result = tools_python(
        "import json\nfrom pathlib import Path\nimport infra_check as ic\n"
        f"passed, problems = ic.terraform_test(Path({str(module)!r}))\n"
        "print(json.dumps({'passed': passed, 'problems': problems}))"
    )
    assert isinstance(result, dict)
    assert "refuses_an_unknown_environment" not in result["passed"], json.dumps(result, indent=2)
    assert any("refuses_an_unknown_environment" in p for p in result["problems"]), json.dumps(
        result, indent=2
    )
