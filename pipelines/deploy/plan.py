"""The rollout plan: model.yaml's `environments.<env>.rollout.steps`, checked and printed.

Steps run in order, in the style of Argo Rollouts: `set_weight` moves that share of traffic to the
canary and, while it is at most 50%, the same share to the baseline (a fresh instance of the stable
version; stable serves the rest); `analysis_seconds` compares canary with baseline over that
interval, so an analysis needs 0 < weight <= 50; `pause_seconds` bakes (the canary keeps its traffic;
a bake whose canary 5xx rate is significantly past its ceiling rolls back, one with too few requests
holds). When every step passes, the canary is promoted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pipelines.errors import AipError

if TYPE_CHECKING:
    from pipelines.config.model import Analysis, Rollout

__all__ = ["Plan", "PlanError", "Step", "plan_for"]

StepKind = Literal["set_weight", "analysis", "pause"]


class PlanError(AipError, ValueError):
    """The rollout steps cannot be run as written; the message says which step and why."""


@dataclass(frozen=True)
class Step:
    kind: StepKind
    value: int  # percent for set_weight, seconds otherwise
    weight: int  # canary percent while this step runs

    def describe(self) -> str:
        if self.kind == "set_weight":
            return f"set canary weight {self.value}%"
        if self.kind == "analysis":
            return f"analyse canary vs baseline for {self.value}s at {self.weight}% each"
        return f"bake for {self.value}s at {self.weight}%"


@dataclass(frozen=True)
class Plan:
    model: str
    env: str
    steps: tuple[Step, ...]
    thresholds: Analysis

    @staticmethod
    def baseline_percent(canary_percent: int) -> int:
        """The baseline's share: the canary's, while stable keeps at least as much (<= 50%)."""
        return min(canary_percent, 100 - canary_percent)

    @property
    def nominal_seconds(self) -> int:
        """Duration when no analysis holds."""
        return sum(s.value for s in self.steps if s.kind != "set_weight")

    def render(self, stable: str | None, canary: str) -> str:
        t = self.thresholds
        head = f"rollout plan: {self.model} v{canary} -> @{self.env}" + (
            f" (stable v{stable})" if stable else " (first version: promoted directly, no canary)"
        )
        lines = [head]
        if stable is None:
            return "\n".join(lines)
        lines += [f"  {i}. {s.describe()}" for i, s in enumerate(self.steps, 1)]
        lines.append(f"  {len(self.steps) + 1}. promote: alias @{self.env} and label 'stable' -> v{canary}")
        lines.append(
            "  analysis (canary vs baseline, a fresh instance of the stable version with the same share): "
            f"min {t.min_requests} requests each; 5xx rate <= {t.max_error_rate}; 5xx/4xx/429 rates <= "
            f"{t.max_error_rate_ratio}x baseline; latency p95 <= {t.max_latency_ratio_p95}x, "
            f"p99 <= {t.max_latency_ratio_p99}x, Mann-Whitney 'canary slower' (noise floor "
            f"{t.latency_noise_floor_ms:g} ms); prediction PSI <= {t.max_prediction_psi}; "
            f"family-wise alpha {t.alpha}; abort after {t.max_inconclusive} inconclusive in a row"
        )
        lines.append(f"  nominal duration {self.nominal_seconds}s; any failed check rolls back")
        return "\n".join(lines)


def plan_for(model: str, env: str, rollout: Rollout) -> Plan:
    """Check the steps and resolve the weight each one runs at."""
    steps: list[Step] = []
    weight = 0
    where = f"models/{model}/model.yaml: environments.{env}.rollout.steps"
    for i, raw in enumerate(rollout.steps, 1):
        if raw.set_weight is not None:
            if raw.set_weight < weight:
                raise PlanError(f"{where}[{i}]: set_weight {raw.set_weight} lowers the weight ({weight}%)")
            weight = raw.set_weight
            steps.append(Step("set_weight", raw.set_weight, weight))
        elif raw.analysis_seconds is not None:
            if not 0 < weight <= 50:
                raise PlanError(
                    f"{where}[{i}]: analysis at {weight}% cannot give the baseline the canary's share; "
                    "analyse at 0 < weight <= 50 (canary and baseline get the same share, stable the rest)"
                )
            steps.append(Step("analysis", raw.analysis_seconds, weight))
        elif raw.pause_seconds is not None:
            steps.append(Step("pause", raw.pause_seconds, weight))
    if not any(s.kind == "analysis" for s in steps):
        raise PlanError(f"{where}: no analysis step; a canary is promoted only on evidence")
    return Plan(model, env, tuple(steps), rollout.analysis)
