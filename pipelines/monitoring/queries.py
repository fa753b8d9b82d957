"""Query drift of a prompt: the questions users ask against the questions the prompt was evaluated on.

`aip serve` samples each answered chat question (never the answer, never synthetic traffic) into the
sample sink, partition `model=<prompt>/version=<prompt version>/date=...`, with the question as the
record's `inputs` (pipelines/serving/_chat.py, sample_question). The reference is the prompt's
evaluation set (`cases.yaml`): its labelled retrieval questions and the golden cases that must be
answered; cases that must be refused are left out, since off-topic questions are not what the prompt
is meant to see. The comparison is text.py's text drift (MiniLM embeddings, a classifier telling window
from reference, cross-validated ROC AUC; length and out-of-vocabulary rate reported).

When the questions drift, users ask what the evaluation never covered: the golden cases and the corpus
need new questions and documents (docs/runbooks/llm-refusal-spike.md). The evaluation set is small (tens
of questions) and written by the prompt's authors, so its style differs from real traffic and the check
flags it (measured: 21 templated how-to questions against 21 other how-to questions of the same kind give
ROC AUC 0.85). So the reference can instead be an earlier window of sampled questions
(`reference_window`, e.g. the week after the version went live): drift is then a change in what users
ask. A window below `min_samples` questions is never reported as "no drift".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pipelines.monitoring.sink import SampleSink
    from pipelines.repo.layout import Repo

DEFAULT_ROC_AUC_THRESHOLD = 0.55  # Evidently's default for embeddings, as for model text drift
DEFAULT_MIN_SAMPLES = 50  # as monitoring.min_samples of models
MIN_REFERENCE = 10  # fewer evaluation questions cannot carry a 5-fold cross-validated classifier

Status = Literal["no_drift", "drift", "insufficient_data"]


@dataclass(frozen=True)
class QueryDrift:
    prompt: str
    since: datetime
    until: datetime
    reference_questions: int
    window_questions: int
    status: Status
    text: dict[str, Any] | None = field(default=None, repr=False)
    """text.py's result without the embeddings (None when the window is too small)."""

    @property
    def drifted(self) -> bool:
        return self.status == "drift"


def reference_questions(repo: Repo, prompt: str) -> list[str]:
    """The questions of the prompt's evaluation set that it should answer, each once, in file order."""
    from pipelines.config.load import load_cases, load_prompt

    folder = repo.prompt_dir(prompt)
    config = load_prompt(folder / "prompt.yaml")
    cases = load_cases(folder / config.evaluation.cases)
    questions = [q.question for q in cases.retrieval]
    questions += [c.question for c in cases.cases if not c.expect.refuses]
    return list(dict.fromkeys(q.strip() for q in questions if q.strip()))


def sampled_questions(
    sink: SampleSink, prompt: str, since: datetime, until: datetime, version: str | None = None
) -> list[str]:
    """The questions sampled for a prompt (optionally one version) with since <= ts < until."""
    records = sink.read(prompt, since, until, version)
    return [
        str(r["inputs"]).strip() for r in records if isinstance(r.get("inputs"), str) and r["inputs"].strip()
    ]


def compare(
    prompt: str,
    reference: Sequence[str],
    window: Sequence[str],
    since: datetime,
    until: datetime,
    *,
    roc_auc_threshold: float = DEFAULT_ROC_AUC_THRESHOLD,
    min_samples: int = DEFAULT_MIN_SAMPLES,
) -> QueryDrift:
    """Text drift of the window's questions against the reference questions."""
    if len(reference) < MIN_REFERENCE:
        from pipelines.monitoring.drift import DriftError

        raise DriftError(
            f"prompt {prompt}: {len(reference)} reference questions; query drift needs at least "
            f"{MIN_REFERENCE} (add questions to its cases file, or pick a longer reference window)"
        )
    if len(window) < min_samples:
        return QueryDrift(prompt, since, until, len(reference), len(window), "insufficient_data")
    from pipelines.monitoring.text import text_drift

    result = text_drift(list(reference), list(window), roc_auc_threshold)
    result.pop("embeddings", None)
    return QueryDrift(
        prompt,
        since,
        until,
        len(reference),
        len(window),
        "drift" if result["drifted"] else "no_drift",
        result,
    )


def query_drift(
    repo: Repo,
    sink: SampleSink,
    prompt: str,
    since: datetime,
    until: datetime,
    *,
    version: str | None = None,
    reference_window: tuple[datetime, datetime] | None = None,
    roc_auc_threshold: float = DEFAULT_ROC_AUC_THRESHOLD,
    min_samples: int = DEFAULT_MIN_SAMPLES,
) -> QueryDrift:
    """Query drift of `prompt` over [since, until): sampled questions against its evaluation questions,
    or against the questions sampled in `reference_window` (same prompt and version filter)."""
    reference = (
        reference_questions(repo, prompt)
        if reference_window is None
        else sampled_questions(sink, prompt, *reference_window, version)
    )
    return compare(
        prompt,
        reference,
        sampled_questions(sink, prompt, since, until, version),
        since,
        until,
        roc_auc_threshold=roc_auc_threshold,
        min_samples=min_samples,
    )
