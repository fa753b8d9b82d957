"""SHAP values of a tabular model: shap's Kernel explainer against a sampled background.

    explainer = TabularExplainer(predictor, background_matrix(train_df, predictor.feature_names, 50))
    result = explainer.explain(predictor.feature_matrix(rows))
    result.values[i, j, c]   # feature j's contribution to P(class c) of row i

Why this explainer: it needs only `predict_proba` (any runtime: torch, ONNX); its weighted
regression is constrained so a row's values add up exactly to its probability minus the
background's mean probability (SHAP's additivity), whatever the number of samples; seeded per call,
it is deterministic; and it runs in plain numpy. shap's Permutation and Partition explainers
compile numba kernels on their first call in a process (10-30 s on a busy 2-core machine, measured),
which would dominate a one-shot evaluation step. Its cost is `max_evals` coalitions x background
rows forward rows per explained row: 512 x 50 = 25,600 rows of a small MLP for the server's default.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.explain._shap import shap
from pipelines.explain.errors import Unexplainable

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.artifacts import Predictor

__all__ = ["DEFAULT_SAMPLES", "TabularExplainer", "TabularExplanation", "background_matrix", "mean_row"]

DEFAULT_SAMPLES = 512  # coalitions per row: the top features of one row are stable at this count
_MODEL_BATCH = 8192  # rows per forward pass while explaining: many coalitions x background rows
# shap's Kernel explainer seeds and draws from numpy's global generator: one explanation at a time,
# with the caller's generator state put back after, keeps every explanation reproducible.
_GLOBAL_RNG = threading.Lock()
METHOD = "shap.KernelExplainer (sampled background), output: class probabilities"


@dataclass(frozen=True)
class TabularExplanation:
    """SHAP values of explained rows; probabilities, so values are in probability points."""

    feature_names: list[str]
    labels: list[str]
    data: np.ndarray
    """(rows, features): the explained rows, as the model saw them."""
    values: np.ndarray
    """(rows, features, classes): each feature's contribution to each class probability."""
    expected: np.ndarray
    """(classes,): mean probability over the background (what the values start from)."""
    proba: np.ndarray
    """(rows, classes): the model's probabilities of the rows (= expected + values summed over features)."""
    background_rows: int
    background_source: str
    max_evals: int
    seconds: float
    method: str = METHOD

    def mean_abs(self) -> np.ndarray:
        """(features, classes): mean |SHAP| over the rows: the global importance."""
        return np.abs(self.values).mean(axis=0) if len(self.values) else np.zeros(self.values.shape[1:])

    def instance(self, i: int) -> dict[str, Any]:
        """Row `i` as the server answers it: per class, each feature's contribution."""
        return {
            "label": self.labels[int(self.proba[i].argmax())],
            "probabilities": self.proba[i].astype(float).tolist(),
            "expected_value": {c: float(self.expected[k]) for k, c in enumerate(self.labels)},
            "attributions": {
                c: {f: float(self.values[i, j, k]) for j, f in enumerate(self.feature_names)}
                for k, c in enumerate(self.labels)
            },
        }


def background_matrix(
    frame: pd.DataFrame, feature_names: Sequence[str], rows: int, seed: int = 0
) -> np.ndarray:
    """A seeded sample of `rows` rows of `frame` (all of it when smaller), float32 in model order."""
    missing = [n for n in feature_names if n not in frame.columns]
    if missing:
        raise Unexplainable(f"background data lacks feature(s) {', '.join(missing[:3])}")
    matrix: np.ndarray = np.asarray(frame[list(feature_names)].to_numpy(dtype=np.float32))
    if len(matrix) > rows:
        pick = np.random.default_rng(seed).choice(len(matrix), size=rows, replace=False)
        matrix = matrix[np.sort(pick)]
    return matrix


def mean_row(predictor: Predictor) -> np.ndarray | None:
    """The training means the artifact normalises with, as a one-row background (None if absent)."""
    mean = predictor.manifest.preprocessing.get("mean")
    names = predictor.feature_names or []
    if mean is None or len(mean) != len(names):
        return None
    return np.asarray([mean], dtype=np.float32)


@contextlib.contextmanager
def _one_torch_thread(device: str) -> Iterator[None]:
    """torch on one intra-op thread while explaining on the CPU, then as before.

    SHAP runs the small network a few hundred times per row on mid-sized batches, where torch's
    thread pool costs more than it gives: measured 0.9 s for 10 rows on one thread, 13 s on two with
    other processes on the cores (the pool spins while it waits for a busy core)."""
    import torch

    if device != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class TabularExplainer:
    """Explains rows of a tabular Predictor against a fixed background; safe to share across threads."""

    def __init__(
        self,
        predictor: Predictor,
        background: np.ndarray,
        *,
        source: str,
        seed: int = 0,
        max_evals: int | None = None,
    ) -> None:
        names = predictor.feature_names
        if predictor.kind != "tabular" or not names:
            raise Unexplainable(
                f"{predictor.path}: a tabular explainer needs a tabular model with feature names "
                f"(kind {predictor.kind!r}, {len(names or [])} feature names)"
            )
        if background.ndim != 2 or background.shape[1] != len(names) or len(background) == 0:
            raise Unexplainable(
                f"background must be a non-empty (rows, {len(names)}) matrix, got shape {background.shape}"
            )
        self.predictor = predictor
        self.feature_names = list(names)
        self.labels = predictor.labels
        self.background = background
        self.source = source
        self.seed = seed
        minimum = 2 * len(names) + 2  # every feature alone and left out: shap's own floor
        self.max_evals = max(max_evals or DEFAULT_SAMPLES, minimum)
        fast = copy.copy(predictor)  # same module and weights, larger forward batches
        fast.batch_size = max(predictor.batch_size, _MODEL_BATCH)
        self._model = fast

    def _proba(self, x: np.ndarray) -> np.ndarray:
        import pandas as pd

        frame = pd.DataFrame(np.asarray(x, dtype=np.float32), columns=self.feature_names)
        return self._model.predict_proba(frame)

    def explain(self, matrix: np.ndarray) -> TabularExplanation:
        """SHAP values of each row of `matrix` (rows, features) in the model's feature order."""
        lib = shap()
        started = time.perf_counter()
        data = np.asarray(matrix, dtype=np.float32)
        with _GLOBAL_RNG, _one_torch_thread(self.predictor.device):
            state = np.random.get_state()
            try:
                explainer = lib.KernelExplainer(self._proba, self.background, link="identity", seed=self.seed)
                raw = explainer.shap_values(data, nsamples=self.max_evals, l1_reg=False, silent=True)
                expected = np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)
            finally:
                np.random.set_state(state)
        raw = np.stack(raw, axis=-1) if isinstance(raw, list) else np.asarray(raw)
        values = raw.astype(np.float64).reshape(len(data), len(self.feature_names), -1)
        proba = self._proba(data)  # the model's own answer: the values add up to it minus `expected`
        return TabularExplanation(
            feature_names=self.feature_names,
            labels=self.labels,
            data=data,
            values=values,
            expected=expected,
            proba=proba,
            background_rows=len(self.background),
            background_source=self.source,
            max_evals=self.max_evals,
            seconds=time.perf_counter() - started,
        )
