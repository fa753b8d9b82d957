"""Evaluation of a model artifact: metrics, gates, behavioural tests, plots and a report.

`evaluate_model(...)` is the entry; numpy/sklearn/matplotlib/torch are imported when it runs.
"""

from pipelines.evaluate.behavioural import BehaviouralResult, run_behavioural
from pipelines.evaluate.evaluation import EvaluationResult, evaluate_model
from pipelines.evaluate.gates import GateResult, check_gate, check_gates, check_pass_rate

__all__ = [
    "BehaviouralResult",
    "EvaluationResult",
    "GateResult",
    "check_gate",
    "check_gates",
    "check_pass_rate",
    "evaluate_model",
    "run_behavioural",
]
