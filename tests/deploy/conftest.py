"""Print the fault suite's trial counts after the run (tests/deploy/trials.py)."""

from __future__ import annotations

from typing import Any

from tests.deploy.trials import TRIALS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = TRIALS.lines()
    if lines:
        terminalreporter.section("canary trials (tests/deploy/test_fault_suite.py)")
        for line in lines:
            terminalreporter.write_line(line)
