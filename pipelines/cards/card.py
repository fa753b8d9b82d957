"""The model card of one registered version, as data: what pipelines/cards/collect.py gathers and
pipelines/cards/render.py turns into markdown and HTML.

Every section holds facts with their source, never prose made up at render time, so a card can be
checked (`gaps`) before it is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "BehaviouralRow",
    "DeployRecord",
    "Explanation",
    "Gap",
    "GateRow",
    "MetricRow",
    "ModelCard",
    "SliceTable",
]


@dataclass(frozen=True)
class Gap:
    """A required fact the card could not find: where it should be and what was expected."""

    where: str  # a file (`models/x/model.yaml`) or a registry object (`tumor-classifier v3`)
    field: str  # `card.intended_use`, `tag aip.data.breast-cancer`, `evaluation run`
    expected: str  # what would fill it

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.expected}"


@dataclass(frozen=True)
class MetricRow:
    metric: str
    better: str  # "higher" / "lower"
    value: float
    interval: str  # "[low, high]" from the evaluation report, "—" when not logged
    baseline: str  # the majority-class baseline's value, "—" when not logged


@dataclass(frozen=True)
class GateRow:
    passed: bool
    gate: str
    detail: str


@dataclass(frozen=True)
class BehaviouralRow:
    passed: bool
    kind: str
    case: str
    detail: str


@dataclass(frozen=True)
class Explanation:
    """Global importances of one class (or of the model when `label` is "all"), largest first."""

    label: str
    importances: list[tuple[str, float]]


@dataclass(frozen=True)
class SliceTable:
    """Metrics per value of one slice: per class (`label`) or per value of a `card.slices` column."""

    title: str
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class DeployRecord:
    """What the registry says about this version in one environment."""

    env: str
    holds_alias: bool  # the environment's alias points at this version now
    verdict: str  # aip.deploy.<env>.verdict, "" when never deployed there
    reason: str
    finished: str
    report: str
    previous: str  # aip.previous.<env>: the version the alias pointed at before this one


@dataclass
class ModelCard:
    model: str
    version: str
    facts: dict[str, str] = field(default_factory=dict)
    """Header lines: description, owner, task, base model, registered, aliases."""
    intended_use: str = ""
    out_of_scope: list[str] = field(default_factory=list)
    limitations: list[str] = field(default_factory=list)
    ethical_considerations: list[str] = field(default_factory=list)
    training: dict[str, str] = field(default_factory=dict)
    """The training run's params, as logged."""
    data: dict[str, str] = field(default_factory=dict)
    """Dataset name, description, licence, source, data version, rows per split."""
    evaluation: dict[str, str] = field(default_factory=dict)
    """Evaluation run, environment, champion, gates verdict."""
    metrics: list[MetricRow] = field(default_factory=list)
    gates: list[GateRow] = field(default_factory=list)
    behavioural: list[BehaviouralRow] = field(default_factory=list)
    behavioural_note: str = ""
    explanations: list[Explanation] = field(default_factory=list)
    explanations_note: str = ""
    fairness_note: str = ""
    slices: list[SliceTable] = field(default_factory=list)
    slices_note: str = ""
    deploys: list[DeployRecord] = field(default_factory=list)
    lineage: dict[str, str] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)
    generated: str = ""

    @property
    def complete(self) -> bool:
        return not self.gaps

    @property
    def title(self) -> str:
        return f"Model card: {self.model} v{self.version}"
