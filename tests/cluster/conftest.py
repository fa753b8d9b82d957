"""Fixtures of the cluster-training tests: a stand-in kubectl (standin_kubectl.py) on a temp folder."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


def condition(kind: str, status: str = "True", reason: str = "", message: str = "") -> dict[str, str]:
    return {
        "type": kind,
        "status": status,
        "reason": reason or kind,
        "message": message,
        "lastTransitionTime": "2026-12-01T20:00:00Z",
    }


QUEUED = {"conditions": [condition("Suspended", reason="Suspended", message="TrainJob is suspended")]}
RUNNING = {
    "conditions": [condition("Suspended", "False", reason="Resumed", message="TrainJob is resumed")],
    "jobsStatus": [{"name": "node", "active": 2, "ready": 2, "succeeded": 0, "failed": 0, "suspended": 0}],
}
COMPLETE = {
    "conditions": [condition("Complete", reason="JobsCompleted", message="TrainJob is completed")],
    "jobsStatus": [{"name": "node", "active": 0, "ready": 0, "succeeded": 2, "failed": 0, "suspended": 0}],
}
FAILED = {
    "conditions": [
        condition("Failed", reason="JobsFailed", message="jobset node-0 failed: BackoffLimitExceeded")
    ],
    "jobsStatus": [{"name": "node", "active": 0, "ready": 0, "succeeded": 0, "failed": 1, "suspended": 0}],
}


@dataclass
class Standin:
    state: Path
    bin_dir: Path

    @property
    def kubectl(self) -> str:
        return str(self.bin_dir / "kubectl")

    def script(self, *statuses: dict[str, Any]) -> None:
        (self.state / "statuses.json").write_text(json.dumps(list(statuses)))

    def calls(self) -> list[list[str]]:
        log = self.state / "calls.log"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def objects(self) -> dict[str, dict[str, Any]]:
        return {
            p.stem: json.loads(p.read_text()) for p in self.state.glob("*.json") if p.name != "statuses.json"
        }


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Standin:
    state, bin_dir = tmp_path / "cluster", tmp_path / "bin"
    state.mkdir()
    bin_dir.mkdir()
    wrapper = bin_dir / "kubectl"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} {HERE / "standin_kubectl.py"} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("STANDIN_STATE", str(state))
    return Standin(state, bin_dir)
