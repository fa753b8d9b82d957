"""Routing inside one process: weights, labels, versions, and promotion/rollback without dropped requests.

Uses a real (tiny, untrained) tabular artifact saved and loaded through pipelines.artifacts."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pipelines.config.model import Batching
from pipelines.serving._metrics import ServerMetrics
from pipelines.serving._models import LoadedVersion, ModelSlot
from pipelines.serving.errors import Code, ServingError

FEATURES = ["f0", "f1", "f2"]


@pytest.fixture(scope="module")
def predictor(tmp_path_factory: pytest.TempPathFactory):
    import torch

    from pipelines.artifacts import load, save_tabular
    from pipelines.artifacts.networks import TabularNet

    torch.manual_seed(0)
    net = TabularNet(mean=[0.0] * 3, std=[1.0] * 3, hidden_sizes=[4], n_classes=2, dropout=0.0)
    folder: Path = tmp_path_factory.mktemp("tiny")
    save_tabular(folder, net, ["no", "yes"], feature_names=FEATURES, hidden_sizes=[4], dropout=0.0)
    return load(folder)


@pytest.fixture
def slot(predictor):
    metrics = ServerMetrics()
    s = ModelSlot("m", Batching(batch_timeout_micros=0), metrics, random.Random(7))
    s.install(LoadedVersion("m", "1", predictor, s.settings, metrics), "stable")
    s.install(LoadedVersion("m", "2", predictor, s.settings, metrics), "canary")
    yield s
    s.close()


def routed(slot: ModelSlot, n: int) -> list[str]:
    labels = []
    for _ in range(n):
        target, label = slot.route(None, None)
        target.release()
        labels.append(label)
    return labels


def peek(slot: ModelSlot, version, label) -> tuple[str, str]:
    target, assigned = slot.route(version, label)
    target.release()
    return target.version, assigned


def test_weight_zero_sends_everything_to_stable_and_one_everything_to_canary(slot):
    assert set(routed(slot, 200)) == {"stable"}
    slot.set_weight(1.0)
    assert set(routed(slot, 200)) == {"canary"}


def test_unlabelled_traffic_goes_to_the_canary_with_probability_equal_to_its_weight(slot):
    slot.set_weight(0.2)
    share = routed(slot, 5000).count("canary") / 5000
    assert 0.17 < share < 0.23  # binomial sd is 0.006: 5 sd either side


def test_labels_and_versions_address_a_version_directly(slot):
    slot.set_weight(0.0)
    assert peek(slot, None, "canary") == ("2", "canary")
    assert peek(slot, "1", None) == ("1", "stable")
    assert peek(slot, "2", None) == ("2", "canary")


@pytest.mark.parametrize(
    ("version", "label", "code"),
    [("9", None, Code.NOT_FOUND), ("x", None, Code.INVALID_ARGUMENT), (None, "beta", Code.INVALID_ARGUMENT)],
)
def test_unknown_versions_and_labels_map_to_tf_serving_errors(slot, version, label, code):
    with pytest.raises(ServingError) as exc:
        slot.route(version, label)
    assert exc.value.code is code


def test_setting_a_weight_without_a_canary_is_a_conflict(slot):
    slot.rollback()
    with pytest.raises(ServingError) as exc:
        slot.set_weight(0.5)
    assert exc.value.code is Code.CONFLICT
    assert slot.state()["canary"] is None and slot.canary_weight == 0.0


def test_promotion_unloads_the_old_stable_only_after_its_leased_requests_finish(slot):
    old, _ = slot.route(None, "stable")  # a request in flight on version 1
    slot.promote()
    assert slot.state()["stable"] == {"version": "2", "state": "AVAILABLE"}
    assert slot.state()["canary"] is None and slot.canary_weight == 0.0
    time.sleep(0.2)
    assert slot.status["1"].state == "UNLOADING"
    future = slot.submit(old, np.zeros((1, 3), dtype=np.float32), 1)  # the in-flight request still runs
    assert future.result(5).shape == (1, 2)
    old.release()
    deadline = time.monotonic() + 5
    while slot.status["1"].state != "END" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert slot.status["1"].state == "END"
    with pytest.raises(ServingError) as exc:
        slot.route("1", None)
    assert exc.value.code is Code.NOT_FOUND


def test_concurrent_requests_during_promotion_all_get_answers(slot):
    slot.set_weight(0.5)
    errors: list[Exception] = []
    answered = []

    def client():
        for _ in range(50):
            try:
                target, _ = slot.route(None, None)
                try:
                    answered.append(slot.submit(target, np.ones((1, 3), dtype=np.float32), 1).result(5))
                finally:
                    target.release()
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.01)
    slot.promote()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(answered) == 200


@pytest.fixture
def with_baseline(slot, predictor):
    slot.install(LoadedVersion("m", "1", predictor, slot.settings, slot.metrics), "baseline")
    return slot


def test_canary_and_baseline_each_get_their_weight_and_stable_the_rest(with_baseline):
    with_baseline.set_weight(0.25, 0.25)
    labels = routed(with_baseline, 4000)
    for label, share in (("canary", 0.25), ("baseline", 0.25), ("stable", 0.5)):
        assert abs(labels.count(label) / 4000 - share) < 0.04, (label, labels.count(label))
    # The baseline is a separate instance of the stable's version: same number, its own batcher.
    assert with_baseline.baseline.version == with_baseline.stable.version == "1"
    assert with_baseline.baseline is not with_baseline.stable


def test_a_version_number_reaches_the_stable_instance_never_its_baseline_twin(with_baseline):
    with_baseline.set_weight(0.0, 0.5)
    assert peek(with_baseline, "1", None) == ("1", "stable")
    assert peek(with_baseline, None, "baseline") == ("1", "baseline")


def test_weights_summing_past_one_or_a_baseline_weight_without_baseline_are_refused(slot, predictor):
    with pytest.raises(ServingError) as conflict:
        slot.set_weight(0.2, 0.2)
    assert conflict.value.code is Code.CONFLICT and "no baseline" in conflict.value.message
    slot.install(LoadedVersion("m", "1", predictor, slot.settings, slot.metrics), "baseline")
    with pytest.raises(ServingError) as too_much:
        slot.set_weight(0.6, 0.5)
    assert too_much.value.code is Code.INVALID_ARGUMENT


def test_removing_the_baseline_keeps_the_stable_version_available(with_baseline):
    with_baseline.set_weight(0.1, 0.1)
    with_baseline.rollback()
    deadline = time.time() + 10
    while time.time() < deadline and with_baseline.status["2"].state != "END":
        time.sleep(0.05)
    assert with_baseline.baseline is None and with_baseline.canary is None
    assert (with_baseline.canary_weight, with_baseline.baseline_weight) == (0.0, 0.0)
    assert with_baseline.status["1"].state == "AVAILABLE"  # the stable twin is untouched
    assert set(routed(with_baseline, 200)) == {"stable"}


def test_promotion_retires_the_baseline_with_the_old_stable(with_baseline):
    with_baseline.set_weight(0.5, 0.5)
    with_baseline.promote()
    assert with_baseline.stable.version == "2" and with_baseline.baseline is None
    assert with_baseline.baseline_weight == 0.0
    assert set(routed(with_baseline, 200)) == {"stable"}


def test_injected_faults_answer_500_400_and_429_in_their_shares():
    from collections import Counter

    from pipelines.serving._models import Fault

    fault = Fault(error_rate=0.1, client_error_rate=0.2, shed_rate=0.3)
    rng = random.Random(3)
    seen = Counter(fault.draw(rng) for _ in range(20_000))
    for code, share in (
        (Code.INTERNAL, 0.1),
        (Code.INVALID_ARGUMENT, 0.2),
        (Code.RESOURCE_EXHAUSTED, 0.3),
        (None, 0.4),
    ):
        assert abs(seen[code] / 20_000 - share) < 0.015, (code, seen[code])
