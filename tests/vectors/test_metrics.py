"""recall@k and MRR: the arithmetic on ranks, and on the real small index with labelled questions."""

from __future__ import annotations

import pytest

from pipelines.repo.layout import Repo
from pipelines.vectors import (
    Chunk,
    Hit,
    Retriever,
    VectorError,
    first_relevant_rank,
    open_store,
    retrieval_metrics,
    scores_from_ranks,
)
from tests.vectors.conftest import DATASET


def _hit(path: str) -> Hit:
    return Hit(Chunk(id=f"{path}:0", path=path, heading="h", text="t", licence="Apache-2.0"), 0.5)


def test_the_first_relevant_rank_counts_from_one_and_any_listed_file_counts():
    hits = [_hit("a.md"), _hit("b.md"), _hit("c.md")]
    assert first_relevant_rank(hits, ["c.md", "b.md"]) == 2
    assert first_relevant_rank(hits, ["z.md"]) is None


def test_recall_is_the_share_of_questions_answered_in_the_top_k_and_mrr_the_mean_reciprocal_rank():
    scores = scores_from_ranks([1, 2, None, 4], k=3)  # rank 4 is outside the top 3: a miss
    assert scores == {"recall_at_k": pytest.approx(2 / 4), "mrr": pytest.approx((1 + 1 / 2) / 4)}
    assert scores_from_ranks([1, 1], k=1) == {"recall_at_k": 1.0, "mrr": 1.0}
    assert scores_from_ranks([None], k=5) == {"recall_at_k": 0.0, "mrr": 0.0}


def test_metrics_without_questions_or_with_a_question_without_files_are_errors():
    with pytest.raises(VectorError, match="at least one labelled question"):
        scores_from_ranks([], k=3)


@pytest.mark.slow
def test_the_small_index_answers_labelled_runbook_questions(docs_repo: Repo, minilm):
    retriever = Retriever(open_store(docs_repo, DATASET, "faiss"), minilm)
    questions = [
        ("the watchdog alert is firing", ["docs/runbooks/watchdog.md"]),
        ("a canary was rolled back, what do I check?", ["docs/runbooks/canary-failed.md"]),
        ("how do I add a model to the platform?", ["models/README.md"]),
        ("what is the capital of France?", ["docs/nothing-answers-this.md"]),
    ]
    metrics = retrieval_metrics(retriever, questions, k=3)
    assert set(metrics) == {"recall_at_k", "mrr"}
    assert metrics["recall_at_k"] == pytest.approx(3 / 4)  # the off-topic question can never be answered
    assert 0.5 <= metrics["mrr"] <= 0.75
    with pytest.raises(VectorError, match="names no relevant file"):
        retrieval_metrics(retriever, [("q", [])], k=3)
