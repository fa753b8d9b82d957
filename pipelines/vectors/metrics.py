"""Retrieval quality on labelled questions: recall@k and MRR, gated like model metrics.

Each question comes with the repo paths of the files that answer it; a retrieved chunk is relevant
when its file is one of them (an answer cites files, so a file is the unit of relevance).

- recall@k: the share of questions with at least one relevant chunk in the top k (often called hit
  rate; with one relevant file per question it is recall).
- MRR: the mean over questions of 1 / rank of the first relevant chunk in the top k (0 when none);
  1.0 means the first hit always answers.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.vectors.errors import VectorError
from pipelines.vectors.records import Hit
from pipelines.vectors.retriever import Retriever


def first_relevant_rank(hits: Sequence[Hit], relevant: Sequence[str]) -> int | None:
    """1-based rank of the first hit whose chunk's path is in `relevant`; None when there is none."""
    wanted = set(relevant)
    for rank, hit in enumerate(hits, start=1):
        if hit.chunk.path in wanted:
            return rank
    return None


def scores_from_ranks(ranks: Sequence[int | None], k: int) -> dict[str, float]:
    """recall@k and MRR from each question's first relevant rank (None: nothing relevant retrieved)."""
    if not ranks:
        raise VectorError("retrieval metrics need at least one labelled question")
    inside = [rank if rank is not None and rank <= k else None for rank in ranks]
    return {
        "recall_at_k": sum(rank is not None for rank in inside) / len(inside),
        "mrr": sum(1.0 / rank for rank in inside if rank is not None) / len(inside),
    }


def retrieval_metrics(
    retriever: Retriever, questions: Sequence[tuple[str, Sequence[str]]], k: int
) -> dict[str, float]:
    """{"recall_at_k", "mrr"} of `retriever` over `questions` [(question, [relevant repo path, ...])]."""
    if not questions:
        raise VectorError("retrieval metrics need at least one labelled question")
    for question, relevant in questions:
        if not relevant:
            raise VectorError(f"labelled question {question!r} names no relevant file")
    results = retriever.retrieve_many([q for q, _ in questions], k)
    ranks = [
        first_relevant_rank(hits, relevant) for hits, (_, relevant) in zip(results, questions, strict=True)
    ]
    return scores_from_ranks(ranks, k)
