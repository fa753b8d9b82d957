"""Optimised runtimes (pipelines.artifacts.runtime): same weights, same outputs within each one's error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.artifacts import ArtifactError, load, save_text
from pipelines.artifacts.runtime import RUNTIMES, with_runtime
from tests.code.test_artifacts_format import _rows, _save_tabular, _tiny_text_model

pytestmark = pytest.mark.slow  # each ONNX export runs torch.export: ~10 s per model on 2 cores

LABELS = ["ai", "food", "sports"]
TEXTS = [
    "who won the football match",
    "I like pizza",
    "are you a robot? " * 20,  # truncated at max_length: the longest sequence the graph sees
    "ok",  # one token between the special ones: shorter than the export example
    *[f"sentence number {i} about {topic}" for i in range(20) for topic in ("robots", "pasta", "tennis")],
]


@pytest.fixture(scope="module")
def text_predictor(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("text")
    net, tokenizer = _tiny_text_model(len(LABELS))
    save_text(folder, net, tokenizer, LABELS, max_length=16, dropout=0.1)  # type: ignore[arg-type]
    return load(folder)


def test_onnx_runtime_gives_the_torch_probabilities_at_any_batch_size_and_length(text_predictor) -> None:
    onnx = with_runtime(text_predictor, "onnx", threads=1)
    expected = text_predictor.predict_proba(TEXTS)
    np.testing.assert_allclose(onnx.predict_proba(TEXTS), expected, atol=1e-5)
    # batch 1 and a single short text: the exported graph's shapes are dynamic in both axes
    np.testing.assert_allclose(onnx.predict_proba(["ok"]), expected[3:4], atol=1e-5)
    assert onnx.labels == text_predictor.labels and onnx.kind == "text"
    assert onnx.max_length == text_predictor.max_length


def test_int8_runtime_stays_close_to_torch_and_keeps_the_argmax_mostly(text_predictor) -> None:
    int8 = with_runtime(text_predictor, "onnx-int8", threads=1)
    expected = text_predictor.predict_proba(TEXTS)
    got = int8.predict_proba(TEXTS)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-6)
    assert np.abs(got - expected).max() < 0.05  # quantisation error, not a different model
    assert np.mean(got.argmax(1) == expected.argmax(1)) >= 0.9


def test_tabular_models_run_on_onnx_too(tmp_path: Path) -> None:
    _save_tabular(tmp_path)
    torch_predictor = load(tmp_path)
    onnx = with_runtime(torch_predictor, "onnx")
    np.testing.assert_allclose(onnx.predict_proba(_rows()), torch_predictor.predict_proba(_rows()), atol=1e-6)
    one_row = _rows()[:1]
    np.testing.assert_allclose(onnx.predict_proba(one_row), torch_predictor.predict_proba(one_row), atol=1e-6)


def test_torch_runtime_is_the_loaded_predictor_and_unknown_runtimes_are_refused(text_predictor) -> None:
    assert RUNTIMES == ("torch", "onnx", "onnx-int8")
    assert with_runtime(text_predictor, "torch") is text_predictor
    with pytest.raises(ArtifactError, match="unknown runtime 'tensorrt'; choose from torch, onnx, onnx-int8"):
        with_runtime(text_predictor, "tensorrt")


def test_a_cached_graph_is_reused_and_gives_the_same_answers(tmp_path: Path) -> None:
    _save_tabular(tmp_path / "model")
    predictor = load(tmp_path / "model")
    cache = tmp_path / "cache"
    first = with_runtime(predictor, "onnx-int8", cache_dir=cache)
    (graph,) = cache.glob("*.onnx")  # one file per weights x runtime x versions
    second = with_runtime(predictor, "onnx-int8", cache_dir=cache)
    assert list(cache.glob("*.onnx")) == [graph]
    assert second.model.seconds_to_build < first.model.seconds_to_build  # no export the second time
    np.testing.assert_array_equal(second.predict_proba(_rows()), first.predict_proba(_rows()))
    assert not list(cache.glob("*.tmp"))  # written atomically
    other = with_runtime(predictor, "onnx", cache_dir=cache)  # another runtime: another graph
    assert len(list(cache.glob("*.onnx"))) == 2 and other.labels == predictor.labels
