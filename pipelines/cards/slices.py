"""Per-class and per-slice metrics of a registered version on its own test split.

The evaluation run logs aggregate metrics only, so the card predicts the test split once more: only
when the prepared split in this checkout IS the version's data version (otherwise the numbers would
describe other data, and the card says so instead). `card.slices` names columns of the test split
(a sensitive attribute, a region) whose values each get a row; a column with more than
MAX_SLICE_VALUES values is reported as such, not cut into bins the data owner never chose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipelines.cards.card import Gap, SliceTable
from pipelines.errors import is_expected

if TYPE_CHECKING:
    from pipelines.repo.layout import Repo

__all__ = ["MAX_SLICE_VALUES", "SliceResult", "compute_slices"]

MAX_SLICE_VALUES = 20  # more values than this is a continuous column: say so, never invent bins


@dataclass
class SliceResult:
    tables: list[SliceTable] = field(default_factory=list)
    note: str = ""
    gaps: list[Gap] = field(default_factory=list)


def _f(value: float) -> str:
    return f"{value:.4f}"


def compute_slices(
    repo: Repo, model: str, version: str, data_tag: str, columns: Sequence[str]
) -> SliceResult:
    """Per-class precision/recall/F1 and per-value metrics of `columns`, or a note saying why not."""
    from pipelines.data import data_version, load_split

    config = repo.model(model)
    dataset = repo.dataset(config.dataset)
    try:
        local = data_version(repo, config.dataset)
        test = load_split(repo, config.dataset, "test")
    except Exception as exc:
        if not is_expected(exc):
            raise
        return SliceResult(
            note=f"not computed: the test split of {config.dataset} is not prepared here ({exc})"
        )
    if local != data_tag:
        return SliceResult(
            note=(
                f"not computed: this checkout's {config.dataset} is data version {local[:12]}, the version "
                f"was evaluated on {data_tag[:12]}; run `aip card` where that data version is prepared"
            )
        )
    where = f"{repo.model_dir(model).relative_to(repo.root)}/model.yaml"
    missing = [c for c in columns if c not in test.columns]
    result = SliceResult(
        gaps=[
            Gap(where, f"card.slices ({c})", f"a column of the {config.dataset} test split") for c in missing
        ]
    )
    from pipelines.evaluate.evaluation import predict_split
    from pipelines.registry.loader import load_predictor

    try:
        predictor = load_predictor(f"models:/{model}/{version}")
    except Exception as exc:
        if not is_expected(exc):
            raise
        result.note = f"not computed: {exc}"
        return result
    proba = predict_split(predictor, test, dataset)
    y_true = test[dataset.label_column].astype(str).tolist()
    result.tables.append(_per_class(y_true, proba, predictor.labels))
    for column in (c for c in columns if c in test.columns):
        result.tables.append(
            _per_value(column, test[column].astype(str).tolist(), y_true, proba, predictor.labels)
        )
    result.note = f"{len(test)} test rows of {config.dataset} {data_tag[:12]}, predicted by v{version}."
    return result


def _per_class(y_true: list[str], proba: object, labels: list[str]) -> SliceTable:
    import numpy as np
    from sklearn.metrics import precision_recall_fscore_support

    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[v] for v in y_true])
    pred = np.asarray(proba).argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, pred, labels=list(range(len(labels))), zero_division=0
    )
    rows = [
        [label, str(int(support[i])), _f(precision[i]), _f(recall[i]), _f(f1[i])]
        for i, label in sorted(enumerate(labels), key=lambda p: recall[p[0]])
    ]
    return SliceTable(
        "Per class (test split, lowest recall first)", ["class", "rows", "precision", "recall", "F1"], rows
    )


def _per_value(
    column: str, values: list[str], y_true: list[str], proba: object, labels: list[str]
) -> SliceTable:
    import numpy as np

    from pipelines.evaluate.metrics import compute_metrics

    distinct = sorted(set(values))
    header = ["value", "rows", "accuracy", "macro_f1", "macro_recall"]
    if len(distinct) > MAX_SLICE_VALUES:
        row = [
            f"{len(distinct)} distinct values (> {MAX_SLICE_VALUES}): bin the column in the data",
            "",
            "",
            "",
            "",
        ]
        return SliceTable(f"By {column}", header, [row])
    array = np.asarray(proba)
    rows = []
    for value in distinct:
        mask = np.array([v == value for v in values])
        metrics = compute_metrics([y for y, m in zip(y_true, mask, strict=True) if m], array[mask], labels)
        rows.append(
            [
                value,
                str(int(mask.sum())),
                _f(metrics["accuracy"]),
                _f(metrics["macro_f1"]),
                _f(metrics["macro_recall"]),
            ]
        )
    return SliceTable(f"By {column}", header, rows)
