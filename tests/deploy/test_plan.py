"""Rollout plans from model.yaml: steps resolved to weights, unrunnable plans refused by name."""

from __future__ import annotations

import pytest

from pipelines.config.model import Rollout, RolloutStep
from pipelines.deploy.plan import PlanError, plan_for


def test_the_default_plan_is_ten_fifty_hundred_with_two_analyses_and_a_bake():
    plan = plan_for("m", "local", Rollout())
    assert [(s.kind, s.value, s.weight) for s in plan.steps] == [
        ("set_weight", 10, 10),
        ("analysis", 60, 10),
        ("set_weight", 50, 50),
        ("analysis", 60, 50),
        ("set_weight", 100, 100),
        ("pause", 60, 100),
    ]
    text = plan.render("1", "2")
    assert "v2" in text and "stable v1" in text and "promote" in text and "180s" in text


def test_a_first_version_plan_says_it_is_promoted_directly():
    assert "promoted directly" in plan_for("m", "local", Rollout()).render(None, "1")


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([RolloutStep(analysis_seconds=5)], "analysis at 0%"),
        ([RolloutStep(set_weight=100), RolloutStep(analysis_seconds=5)], "analysis at 100%"),
        ([RolloutStep(set_weight=10), RolloutStep(pause_seconds=5)], "no analysis step"),
        (
            [RolloutStep(set_weight=50), RolloutStep(analysis_seconds=5), RolloutStep(set_weight=10)],
            "lowers the weight",
        ),
    ],
)
def test_unrunnable_plans_are_refused_naming_the_step(steps, message):
    with pytest.raises(PlanError, match=message) as info:
        plan_for("m", "dev", Rollout(steps=steps))
    assert "models/m/model.yaml: environments.dev.rollout.steps" in str(info.value)
