"""model.yaml's `search` section: the hyper-parameter search that `aip tune` runs (docs/tuning.md).

The space names fields of the model's own `training` section, so a search can only ever propose
values that model.yaml could hold, and the winner is written back there (through a pull request).
Lists such as `hidden_sizes` are searched as a categorical over whole lists: the architectures worth
trying are few, and an explicit list keeps each one reviewable.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from pipelines.config._base import StrictModel

__all__ = ["Pruner", "Sampler", "Search", "SearchParam", "check_space", "direction_of"]

Choice = bool | int | float | str | list[int]


class SearchParam(StrictModel):
    """One searched training parameter: a float or int range, or a list of choices."""

    type: Literal["float", "int", "categorical"]
    """float: any value in [low, high]; int: integers in [low, high] by `step`; categorical: one of
    `choices`."""
    low: int | float | None = None
    """Smallest value (float, int)."""
    high: int | float | None = None
    """Largest value, inclusive (float, int); must be above `low`."""
    log: bool = False
    """Sample on a log scale (learning rates, weight decay); needs low > 0."""
    step: int | None = Field(None, ge=1)
    """int only: spacing of the values (default 1)."""
    choices: list[Choice] | None = Field(None, min_length=1)
    """categorical only: the values to try, e.g. `[16, 32, 64]` or `[[32], [64, 32]]` for lists."""

    @model_validator(mode="after")
    def _fields_for_type(self) -> SearchParam:
        if self.type == "categorical":
            if self.choices is None:
                raise ValueError("categorical needs choices")
            if self.low is not None or self.high is not None or self.log or self.step is not None:
                raise ValueError("categorical takes only choices (no low, high, log, step)")
            return self
        if self.choices is not None:
            raise ValueError(f"{self.type} takes low and high, not choices")
        if self.low is None or self.high is None:
            raise ValueError(f"{self.type} needs low and high")
        if self.type == "int" and not (isinstance(self.low, int) and isinstance(self.high, int)):
            raise ValueError(f"int needs whole-number low and high (got {self.low!r}, {self.high!r})")
        if self.type == "float" and self.step is not None:
            raise ValueError("step applies to int only")
        if not self.low < self.high:
            raise ValueError(f"empty range: low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"log scale needs low > 0 (got {self.low})")
        return self

    def endpoints(self) -> list[Any]:
        """The extreme values a trial may receive, to check against the training field's type."""
        if self.type == "categorical":
            return list(self.choices or [])
        if self.type == "float":
            return [float(self.low or 0), float(self.high or 0)]
        return [self.low, self.high]


class Pruner(StrictModel):
    """Stops unpromising trials early from their per-epoch validation curve."""

    kind: Literal["median", "none"] = "median"
    """median: prune a trial whose value at an epoch is worse than the median of earlier trials at
    that epoch; none: every trial runs all its epochs."""
    n_startup_trials: int = Field(5, ge=0)
    """Trials that always run to the end before any pruning (the median needs a history)."""
    n_warmup_steps: int = Field(5, ge=0)
    """Epochs of each trial that are never pruned (early epochs are noisy)."""


class Sampler(StrictModel):
    """How the next trial's values are chosen."""

    kind: Literal["tpe"] = "tpe"
    """tpe: Optuna's Tree-structured Parzen Estimator."""
    seed: int = 42
    """Seed of the sampler: one worker replays the same trials; worker k uses seed + k."""
    n_startup_trials: int = Field(5, ge=1)
    """Random trials before TPE starts modelling the results."""


class Search(StrictModel):
    """Hyper-parameter search of this model's training section (`aip tune`, docs/tuning.md)."""

    space: dict[str, SearchParam] = Field(min_length=1)
    """Training parameters to search (names of the `training` section) and their ranges."""
    metric: str = "macro_f1"
    """Objective, measured on the validation split (never the test split, which the gates use): one
    of the model metrics (see METRICS in pipelines/config/model.py)."""
    direction: Literal["maximize", "minimize"] | None = None
    """Derived from the metric when omitted; when given it must agree with the metric (the direction a
    model metric improves in: see METRICS)."""
    n_trials: int = Field(20, ge=1)
    """Trials per `aip tune` run (`--trials` overrides); split across local `--workers`."""
    timeout_seconds: int | None = Field(None, ge=1)
    """Stop starting new trials after this many seconds (`--timeout` overrides); None: no limit."""
    pruner: Pruner = Field(default_factory=Pruner)
    """Early stopping of unpromising trials."""
    sampler: Sampler = Field(default_factory=Sampler)
    """How trial values are chosen."""


def _error(where: tuple[str, ...], message: str, value: Any) -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError("value_error", "{message}", {"message": message}),
        loc=("search", *where),
        input=value,
    )


def direction_of(search: Search, metrics: dict[str, bool]) -> Literal["maximize", "minimize"]:
    """The study's direction: the explicit one, else the metric's (`metrics`: name -> higher is better)."""
    if search.direction is not None:
        return search.direction
    return "maximize" if metrics.get(search.metric, True) else "minimize"


def check_space(search: Search | None, training: BaseModel, metrics: dict[str, bool]) -> None:
    """The metric is a model metric, the direction agrees with it, every searched name is a field of
    `training` and every value it may take is valid there (`metrics`: METRICS of config/model.py,
    passed in because that module imports this one).

    Raised as a ValidationError located at `search.<field>`, so the loader names the line."""
    if search is None:
        return
    errors: list[InitErrorDetails] = []
    if search.metric not in metrics:
        allowed = ", ".join(sorted(metrics))
        errors.append(
            _error(("metric",), f"unknown metric '{search.metric}' (allowed: {allowed})", search.metric)
        )
    elif search.direction is not None and search.direction != (
        implied := direction_of(search.model_copy(update={"direction": None}), metrics)
    ):
        errors.append(
            _error(
                ("direction",),
                f"direction '{search.direction}' contradicts {search.metric}, which is to {implied}",
                search.direction,
            )
        )
    fields = type(training).model_fields
    for name, param in search.space.items():
        if name not in fields:
            allowed = ", ".join(fields)
            errors.append(
                _error(("space", name), f"'{name}' is not a training parameter (allowed: {allowed})", name)
            )
            continue
        current = training.model_dump()
        for value in param.endpoints():
            try:
                type(training).model_validate({**current, name: value})
            except ValidationError as exc:
                reason = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
                errors.append(
                    _error(
                        ("space", name), f"value {value!r} is not valid for training.{name}: {reason}", value
                    )
                )
                break
    if errors:
        raise ValidationError.from_exception_data("search", errors)
