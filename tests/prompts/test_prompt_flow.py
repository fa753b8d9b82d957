"""Prompts through the real lifecycle: `aip run` builds the index, evaluates, registers once, aliases;
a changed template is a new version canaried against stable; a missed gate registers nothing.

Everything is real: the platform-docs DVC stages, MiniLM and FAISS, SmolLM2 (short answers: the
trained registry sets max_tokens, tests/support/registry.py), MLflow's prompt registry on SQLite.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_aip
from tests.support.git import git
from tests.support.registry import PROMPT, TrainedRegistry, mlflow_client
from tests.support.repo import copy_state, edit_yaml

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def prompt_summary(root: Path) -> dict[str, Any]:
    report = json.loads((root / "summary.json").read_text())
    return {p["name"]: p for p in report["prompts"]}[PROMPT]


def run(root: Path, *args: str) -> tuple[Any, dict[str, Any]]:
    result = run_aip(root, "run", PROMPT, *args, "--summary-json", str(root / "summary.json"))
    return result, prompt_summary(root)


def prompt_versions(root: Path) -> list[str]:
    return sorted(str(v.version) for v in mlflow_client(root).search_prompt_versions(PROMPT))


def alias(root: Path) -> str:
    return str(mlflow_client(root).get_prompt_version_by_alias(PROMPT, "local").version)


@pytest.fixture
def copy(trained_registry: TrainedRegistry, tmp_path: Path) -> Path:
    return copy_state(trained_registry.checked_root(), tmp_path / "repo")


def test_the_first_run_registers_the_prompt_and_sets_its_alias(trained_registry: TrainedRegistry) -> None:
    root = trained_registry.checked_root()
    outcome = prompt_summary(root)
    assert outcome["status"] == "registered" and outcome["version"] == "1", outcome
    assert outcome["deploy"] == "promoted"  # first version: the alias is set without a canary
    assert alias(root) == "1"
    assert outcome["metrics"]["recall_at_k"] >= 0.8 and outcome["metrics"]["refusal_accuracy"] == 1.0
    version = mlflow_client(root).get_prompt_version(PROMPT, 1)
    assert version.tags["aip.fingerprint"].startswith(outcome["fingerprint"])
    assert {m["role"] for m in version.template} == {"system", "user"}
    report = Path(outcome["report"]).read_text()
    assert "gates passed" in report and "recall_at_k" in report


def test_nothing_changed_is_up_to_date(copy: Path) -> None:
    result, outcome = run(copy)
    assert result.returncode == 0, result.stderr[-3000:]
    assert outcome["status"] == "up-to-date" and prompt_versions(copy) == ["1"]


def test_a_changed_template_is_a_new_version_canaried_against_stable(copy: Path) -> None:
    system = copy / "prompts" / PROMPT / "system.txt"
    system.write_text(system.read_text().replace("Be brief: two or three sentences.", "Be brief."))
    git(copy, "commit", "-qam", "shorter instruction")
    result, outcome = run(copy)
    assert outcome["version"] == "2" and prompt_versions(copy) == ["1", "2"], result.stderr[-3000:]
    canary = json.loads(
        (copy / ".aip" / "reports" / "local" / "prompts" / PROMPT / "canary.json").read_text()
    )
    checks = {c["check"]: c["result"] for c in canary["interval"]["checks"]}
    assert {"error_rate", "latency_p95_ratio", "evaluation_score", "prediction_shift"} <= set(checks)
    assert canary["interval"]["canary"]["requests"] == canary["interval"]["baseline"]["requests"] >= 12
    # The verdict decides the alias, and `aip run` reports it.
    if canary["verdict"] == "promoted":
        assert alias(copy) == "2" and result.returncode == 0
    else:
        assert alias(copy) == "1" and result.returncode == 1 and outcome["status"] == "failed: deploy"


def test_a_missed_gate_registers_nothing_and_says_which(copy: Path) -> None:
    edit_yaml(
        copy / "prompts" / PROMPT / "prompt.yaml",
        lambda d: d["evaluation"]["gates"].append({"metric": "groundedness", "min": 0.99}),
    )
    system = copy / "prompts" / PROMPT / "system.txt"
    system.write_text(system.read_text() + "\nAnswer in English.\n")  # a new fingerprint
    git(copy, "commit", "-qam", "impossible gate")
    result, outcome = run(copy)
    assert result.returncode == 1
    assert (
        outcome["status"] == "failed: gates"
        and "groundedness" in outcome["error"]
        and "min 0.990" in outcome["error"]
    )
    assert prompt_versions(copy) == ["1"] and alias(copy) == "1"


def test_aip_prompts_answer_the_registered_version_with_citations(copy: Path) -> None:
    result = run_aip(copy, "prompts", "answer", PROMPT, "How do I add a dataset?", "--registered")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Sources: " in result.stdout and "datasets/README.md" in result.stdout
    refused = run_aip(copy, "prompts", "answer", PROMPT, "What is the capital of France?")
    assert refused.returncode == 1 and "only answer questions about this platform" in refused.stdout
