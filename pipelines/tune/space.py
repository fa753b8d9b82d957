"""Turn model.yaml's search space into a trial's training values, and back into Optuna's terms.

Floats are rounded to three significant digits before training, so the value a trial trained with
is exactly the value `--write` puts into model.yaml (and reads well there: `learning_rate: 0.00234`).
Optuna's categorical choices must be scalars, so a list choice (hidden_sizes) travels as its JSON text.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from pipelines.config import METRICS
from pipelines.config.search import Search, SearchParam, direction_of

if TYPE_CHECKING:
    import optuna

__all__ = ["baseline", "decode", "direction", "space_signature", "suggest"]

_SIGNIFICANT = 3  # digits kept of a float: finer than a search can resolve, short in a diff


def direction(search: Search) -> Literal["maximize", "minimize"]:
    """The study's direction: search.direction, else the direction the metric improves in."""
    return direction_of(search, METRICS)


def _encode(choice: Any) -> Any:
    return json.dumps(choice) if isinstance(choice, list) else choice


def decode(param: SearchParam, value: Any) -> Any:
    """The training value of Optuna's value for `param` (a list choice back from its JSON text)."""
    if (
        param.type == "categorical"
        and isinstance(value, str)
        and any(isinstance(c, list) for c in param.choices or [])
    ):
        return json.loads(value)
    if param.type == "float":
        rounded = float(f"{float(value):.{_SIGNIFICANT}g}")
        return min(max(rounded, float(param.low or 0)), float(param.high or 0))
    return value


def suggest(trial: optuna.Trial, search: Search) -> dict[str, Any]:
    """Ask the trial for one value per searched parameter; return the training values to use."""
    values: dict[str, Any] = {}
    for name, param in search.space.items():
        if param.type == "float":
            raw: Any = trial.suggest_float(name, float(param.low or 0), float(param.high or 0), log=param.log)
        elif param.type == "int":
            raw = trial.suggest_int(
                name, int(param.low or 0), int(param.high or 0), step=param.step or 1, log=param.log
            )
        else:
            raw = trial.suggest_categorical(name, [_encode(c) for c in param.choices or []])
        values[name] = decode(param, raw)
    return values


def _inside(param: SearchParam, value: Any) -> bool:
    if param.type == "categorical":
        return value in (param.choices or [])
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if param.type == "int" and (
        not isinstance(value, int) or (value - int(param.low or 0)) % (param.step or 1)
    ):
        return False
    return float(param.low or 0) <= value <= float(param.high or 0)


def baseline(search: Search, training: dict[str, Any]) -> dict[str, Any]:
    """model.yaml's current values in Optuna's terms, for those inside the space (enqueued as trial 0)."""
    return {
        name: _encode(training[name])
        for name, param in search.space.items()
        if name in training and _inside(param, training[name])
    }


def space_signature(search: Search) -> str:
    """Canonical text of what makes two runs one study: the space and the objective."""
    body = {
        "space": {k: v.model_dump(mode="json") for k, v in sorted(search.space.items())},
        "metric": search.metric,
        "direction": direction(search),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))
