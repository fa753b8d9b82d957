"""Training pieces: seeding, sampling, device choice, the schedule, and the loop's bookkeeping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pipelines.config import DatasetConfig, TabularClassifierConfig
from pipelines.train import pick_device, subsample, train_model
from pipelines.train.loop import _linear_schedule, macro_f1

DATASET = DatasetConfig(
    name="toy", description="toy", license="MIT", source="test", kind="tabular", label_column="label"
)


def _config(**training: object) -> TabularClassifierConfig:
    return TabularClassifierConfig.model_validate(
        {
            "name": "toy-model",
            "description": "toy",
            "owner": "@me",
            "dataset": "toy",
            "task": "tabular-classification",
            "training": {"epochs": 4, "batch_size": 16, "hidden_sizes": [8], **training},
        }
    )


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    label = np.where(x[:, 0] + 0.5 * x[:, 1] > 0, "yes", "no")
    return pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(label=label)


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_same_seed_gives_identical_weights_and_another_seed_does_not(tmp_path: Path) -> None:
    train, val = _frame(120, 1), _frame(40, 2)
    runs = {
        name: train_model(_config(seed=seed), DATASET, train, val, tmp_path / name, device="cpu")
        for name, seed in (("a", 7), ("b", 7), ("c", 8))
    }
    a, b, c = (_weights(runs[n].artifact_dir) for n in "abc")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert [h["train_loss"] for h in runs["a"].history] == [h["train_loss"] for h in runs["b"].history]


def test_log_metrics_is_called_each_epoch_and_best_epoch_has_best_val_f1(tmp_path: Path) -> None:
    calls: list[tuple[dict[str, float], int]] = []
    result = train_model(
        _config(epochs=5),
        DATASET,
        _frame(120, 1),
        _frame(40, 2),
        tmp_path,
        log_metrics=lambda metrics, epoch: calls.append((metrics, epoch)),
        device="cpu",
    )
    assert [epoch for _, epoch in calls] == [1, 2, 3, 4, 5]
    assert {"train_loss", "val_loss", "val_accuracy", "val_macro_f1"} <= set(calls[0][0])
    f1s = [h["val_macro_f1"] for h in result.history]
    assert result.best_epoch == f1s.index(max(f1s)) + 1
    assert result.params["n_train"] == 120 and result.params["n_classes"] == 2
    assert result.params["device"] == "cpu" and result.params["dtype"] == "fp32"
    assert result.peak_rss_mb > 0 and result.seconds > 0


def test_max_train_samples_caps_the_training_rows(tmp_path: Path) -> None:
    result = train_model(
        _config(epochs=1, max_train_samples=30),
        DATASET,
        _frame(120, 1),
        _frame(40, 2),
        tmp_path,
        device="cpu",
    )
    assert result.params["n_train"] == 30


def test_missing_label_column_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no label column 'label'"):
        train_model(_config(), DATASET, _frame(50, 1).drop(columns=["label"]), _frame(20, 2), tmp_path)


def test_subsample_is_deterministic_keeps_every_class_and_row_order() -> None:
    df = pd.DataFrame({"x": range(100), "label": ["a"] * 80 + ["b"] * 15 + ["c"] * 5})
    first = subsample(df, "label", 20, seed=3)
    assert len(first) == 20
    assert first.equals(subsample(df, "label", 20, seed=3))
    assert not first.equals(subsample(df, "label", 20, seed=4))
    assert set(first["label"]) == {"a", "b", "c"}
    assert first["x"].is_monotonic_increasing
    assert abs((first["label"] == "a").sum() - 16) <= 1
    assert subsample(df, "label", None, seed=3) is df


def test_cpu_trains_in_fp32_and_missing_cuda_is_an_error() -> None:
    assert pick_device("cpu").dtype == "fp32"
    if not torch.cuda.is_available():
        assert pick_device().name == "cpu"
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            pick_device("cuda")


def test_schedule_warms_up_linearly_then_decays_to_zero() -> None:
    factor = _linear_schedule(total=10, warmup=2)
    assert [round(factor(s), 3) for s in range(10)] == [
        0.5,
        1.0,
        1.0,
        0.875,
        0.75,
        0.625,
        0.5,
        0.375,
        0.25,
        0.125,
    ]


def test_loop_macro_f1_matches_sklearn() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    assert macro_f1(y, p) == pytest.approx(f1_score(y, p, average="macro"))
