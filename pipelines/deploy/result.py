"""What a deploy produced: the verdict, every analysis interval, the timeline (controller.py fills it,
report.py writes it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["DeployResult", "Interval", "Verdict"]

# held: model.yaml holds or pins the model in this environment (ADR 0022); the alias did not move.
Verdict = Literal["promoted", "promoted_directly", "rolled_back", "aborted", "up_to_date", "held", "dry_run"]


@dataclass
class Interval:
    """One analysis (or bake) interval: what was measured and what the checks said."""

    step: int  # 1-based index in the plan
    kind: Literal["analysis", "pause"]
    weight: int
    start: float
    end: float
    attempt: int  # 1 + holds before it in this step
    result: str
    analysis: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class DeployResult:
    model: str
    env: str
    version: str
    stable_before: str | None
    verdict: Verdict
    reason: str = ""
    intervals: list[Interval] = field(default_factory=list)
    weights: list[tuple[float, int]] = field(default_factory=list)  # (unix time, canary percent)
    # The baseline: a fresh instance of the stable version given the canary's share of traffic, so
    # the comparison is canary vs baseline under the same conditions (stable serves the rest).
    baseline_version: str | None = None
    # Milestones for the report and chart: (unix time, "canary_loaded" | "promoted" | "rolled_back"
    # | "aborted" | "restored").
    events: list[tuple[float, str]] = field(default_factory=list)
    # The analysis thresholds the rollout ran with (model.yaml `rollout.analysis`, as a dict).
    thresholds: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0
    backend: str = ""
    metrics: str = ""
    load: str = ""
    client_summary: dict[str, Any] = field(default_factory=dict)
    report: Path | None = None
    chart: Path | None = None

    @property
    def ok(self) -> bool:
        return self.verdict in ("promoted", "promoted_directly", "up_to_date", "held", "dry_run")

    @property
    def seconds(self) -> float:
        return max(0.0, self.finished - self.started)

    @property
    def alias_version(self) -> str | None:
        """Where the environment alias points after the deploy."""
        return (
            self.version
            if self.verdict in ("promoted", "promoted_directly", "up_to_date")
            else self.stable_before
        )
