"""Query drift (pipelines/monitoring/queries.py): sampled chat questions from the real sample sink
against a prompt's evaluation questions, with the real MiniLM text-drift check."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from pipelines.monitoring.drift import DriftError
from pipelines.monitoring.queries import compare, query_drift, reference_questions, sampled_questions
from pipelines.monitoring.sink import SampleSink
from pipelines.repo.layout import Repo
from tests.support.repo import REPO_ROOT

PROMPT = "platform-assistant"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
# How-to questions about the platform (in scope) and questions about something else entirely.
IN_SCOPE = [
    f"How do I {verb} {thing}?"
    for verb in ("add", "deploy", "roll back", "monitor", "retrain", "configure", "debug")
    for thing in (
        "a new model",
        "the canary rollout",
        "the drift check",
        "a dataset",
        "the model server",
        "the GPU runner",
        "an alert rule",
        "the MLflow registry alias",
    )
]
OFF_TOPIC = [
    f"What is a good recipe for {dish} with {side}?"
    for dish in ("lasagne", "pancakes", "risotto", "curry", "paella", "ramen", "tacos")
    for side in ("salad", "rice", "bread", "potatoes", "beans", "noodles", "cheese", "wine")
]
REFUSED = "Who won the football world cup in 1998?"


@pytest.fixture()
def repo(tmp_path: Path) -> Repo:
    """A copy of the repository's config files with a prompt whose cases file we control."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy2(REPO_ROOT / "platform.yaml", root / "platform.yaml")
    folder = root / "prompts" / PROMPT
    shutil.copytree(REPO_ROOT / "prompts" / PROMPT, folder, ignore=shutil.ignore_patterns("cases.yaml"))
    cases = {
        "retrieval": [{"question": q, "relevant": ["docs/serving.md"]} for q in IN_SCOPE[:20]],
        "cases": [
            {"name": "how-to", "question": IN_SCOPE[20], "expect": {"cites": ["docs/serving.md"]}},
            {"name": "repeated", "question": IN_SCOPE[0], "expect": {"cites": ["docs/serving.md"]}},
            {"name": "off topic", "question": REFUSED, "expect": {"refuses": True}},
        ],
    }
    (folder / "cases.yaml").write_text(yaml.safe_dump(cases))
    return Repo(root)


def write_questions(sink: SampleSink, questions: list[str], version: str = "3") -> None:
    start = (NOW - timedelta(days=1)).timestamp()
    sink.write(
        [
            {"ts": start + i, "request_id": f"r{i}", "index": 0, "model": PROMPT, "version": version,
             "label": "prod", "inputs": q, "prediction": None, "probabilities": None}
            for i, q in enumerate(questions)
        ]
    )  # fmt: skip


def test_reference_is_the_questions_the_prompt_should_answer_once_each(repo):
    questions = reference_questions(repo, PROMPT)
    assert questions == IN_SCOPE[:21]  # the repeated case once, the refused case not at all
    assert REFUSED not in questions


def test_sampled_questions_come_from_the_prompts_partition_and_window(tmp_path):
    sink = SampleSink(str(tmp_path / "sink"))
    write_questions(sink, ["How do I add a model?", "  "], version="3")
    write_questions(sink, ["How do I roll back?"], version="4")
    sink.write([{"ts": NOW.timestamp() - 10, "model": "other-prompt", "version": "1", "inputs": "x"}])
    since, until = NOW - timedelta(days=2), NOW
    assert sampled_questions(sink, PROMPT, since, until) == ["How do I add a model?", "How do I roll back?"]
    assert sampled_questions(sink, PROMPT, since, until, version="4") == ["How do I roll back?"]
    assert sampled_questions(sink, PROMPT, NOW - timedelta(hours=1), NOW) == []


def test_too_few_sampled_questions_is_insufficient_data_never_no_drift(repo, tmp_path):
    sink = SampleSink(str(tmp_path / "sink"))
    write_questions(sink, OFF_TOPIC[:10])
    result = query_drift(repo, sink, PROMPT, NOW - timedelta(days=7), NOW, min_samples=50)
    assert (result.status, result.window_questions, result.reference_questions) == (
        "insufficient_data",
        10,
        21,
    )
    assert not result.drifted and result.text is None


def test_too_small_an_evaluation_set_is_a_clear_error():
    with pytest.raises(DriftError, match=r"prompt p: 3 reference questions; query drift needs at least 10"):
        compare("p", IN_SCOPE[:3], OFF_TOPIC, NOW - timedelta(days=1), NOW)


@pytest.mark.slow
def test_off_topic_questions_drift_and_in_scope_ones_do_not(repo, tmp_path):
    since, until = NOW - timedelta(days=7), NOW
    on = SampleSink(str(tmp_path / "in-scope"))
    write_questions(on, IN_SCOPE[21:] + IN_SCOPE[21:])  # held-out how-to questions, asked twice
    calm = query_drift(repo, on, PROMPT, since, until, min_samples=30)
    off = SampleSink(str(tmp_path / "off-topic"))
    write_questions(off, OFF_TOPIC)
    drifted = query_drift(repo, off, PROMPT, since, until, min_samples=30)
    assert drifted.status == "drift" and drifted.text is not None and drifted.text["roc_auc"] >= 0.9
    assert calm.text is not None and calm.text["roc_auc"] < drifted.text["roc_auc"]
    assert "embeddings" not in drifted.text


@pytest.mark.slow
def test_against_an_earlier_window_the_same_questions_do_not_drift_and_new_topics_do(repo, tmp_path):
    import random

    questions = IN_SCOPE + IN_SCOPE
    random.Random(7).shuffle(questions)
    earlier, later = questions[:56], questions[56:]
    sink = SampleSink(str(tmp_path / "sink"))
    start = (NOW - timedelta(days=10)).timestamp()
    sink.write(
        [{"ts": start + i, "model": PROMPT, "version": "3", "inputs": q} for i, q in enumerate(earlier)]
    )
    write_questions(sink, later)
    baseline = (NOW - timedelta(days=14), NOW - timedelta(days=7))
    same = query_drift(repo, sink, PROMPT, NOW - timedelta(days=7), NOW, reference_window=baseline)
    assert (same.reference_questions, same.window_questions) == (56, 56)
    assert same.status == "no_drift", same.text
    write_questions(sink, OFF_TOPIC)
    shifted = query_drift(repo, sink, PROMPT, NOW - timedelta(days=7), NOW, reference_window=baseline)
    assert shifted.status == "drift" and shifted.window_questions == 56 + len(OFF_TOPIC)


@pytest.mark.slow
def test_aip_drift_on_a_prompt_compares_the_window_with_the_one_before(repo, tmp_path):
    """`aip drift PROMPT`: what users asked this window against what they asked the window before."""
    import json

    from tests.support.cli import run_aip

    sink = SampleSink(str(tmp_path / "samples"))
    before, during = (NOW - timedelta(days=3)).timestamp(), (NOW - timedelta(days=1)).timestamp()
    sink.write(
        [
            {"ts": ts + i, "request_id": f"{tag}{i}", "index": 0, "model": PROMPT, "version": "3",
             "label": "prod", "inputs": q, "prediction": None, "probabilities": None}
            for tag, ts, questions in (("a", before, IN_SCOPE), ("b", during, OFF_TOPIC))
            for i, q in enumerate(questions)
        ]
    )  # fmt: skip
    window = ["--since", (NOW - timedelta(days=2)).isoformat(), "--until", NOW.isoformat()]
    out = tmp_path / "report"
    args = ["drift", PROMPT, *window, "--sink", str(tmp_path / "samples"), "--out", str(out), "--no-push"]
    result = run_aip(repo.root, *args)
    assert result.returncode == 3, result.stdout + result.stderr[-2000:]
    assert f"{PROMPT} @local: query drift (56 questions vs 56 reference)" in result.stdout
    assert json.loads((out / "query-drift.json").read_text())["status"] == "drift"


def test_aip_drift_refuses_a_window_that_ends_before_it_starts(repo):
    from tests.support.cli import run_aip

    result = run_aip(repo.root, "drift", PROMPT, "--since", "2026-12-02", "--until", "2026-12-01")
    assert result.returncode == 2
    assert (
        "error: --since 2026-12-02T00:00:00+00:00 is not before --until 2026-12-01T00:00:00+00:00"
        in result.stderr
    )
