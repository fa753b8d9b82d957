"""Evaluate a prompt: retrieval quality, golden cases, refusals, groundedness, latency; then gates.

Everything is measured through the Assistant that serves the prompt, on the environment's generator
and vector store (so dev's evaluation runs on vLLM and Milvus, local's on SmolLM2 and FAISS):

- recall_at_k, mrr:      the labelled questions of cases.yaml against the retriever alone;
- case_pass_rate:        golden cases answered end to end; a case passes when every assertion holds
                         (refuses or not, cites one of the expected files, contains / does not contain
                         words, parses as a JSON object);
- refusal_accuracy:      the cases whose refusal matched what was expected;
- groundedness:          per answered case, each answer sentence's best cosine similarity to the
                         chunks in the prompt (MiniLM embeddings), averaged; then over cases;
- latency_p50/p95:       end-to-end answer time over the cases.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.config import Cases
from pipelines.evaluate.gates import GateResult, check_gates
from pipelines.prompts.assistant import Answer, Assistant

if TYPE_CHECKING:
    from pipelines.config.prompt import Case

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass
class CaseResult:
    name: str
    question: str
    passed: bool
    failures: list[str]
    answer: str
    citations: list[str]
    refused: str | None
    seconds: float
    groundedness: float | None


@dataclass
class PromptEvaluation:
    prompt: str
    version: str
    metrics: dict[str, float]
    gates: list[GateResult]
    cases: list[CaseResult]
    retrieval: list[dict[str, Any]] = field(default_factory=list)
    champion: dict[str, float] | None = None

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "version": self.version,
            "passed": self.passed,
            "metrics": self.metrics,
            "champion": self.champion,
            "gates": [asdict(g) for g in self.gates],
            "cases": [asdict(c) for c in self.cases],
            "retrieval": self.retrieval,
        }


def check_case(case: Case, answer: Answer) -> list[str]:
    """Every assertion of the case that the answer breaks, in words (empty: passed)."""
    expect, failures = case.expect, []
    text = answer.text.lower()
    if expect.refuses and answer.refused is None:
        failures.append("expected a refusal; it answered")
    if not expect.refuses and answer.refused is not None:
        failures.append(f"refused ({answer.refused}); expected an answer")
    if expect.cites and not set(expect.cites) & set(answer.citations):
        failures.append(f"cites {answer.citations or 'nothing'}; expected one of {expect.cites}")
    if expect.contains_any and not any(w.lower() in text for w in expect.contains_any):
        failures.append(f"contains none of {expect.contains_any}")
    for word in expect.not_contains:
        if word.lower() in text:
            failures.append(f"contains {word!r}")
    if expect.valid_json:
        try:
            if not isinstance(json.loads(answer.text), dict):
                failures.append("the answer is JSON but not an object")
        except ValueError:
            failures.append("the answer is not valid JSON")
    return failures


def groundedness(assistant: Assistant, answer: Answer) -> float | None:
    """Mean over the answer's sentences of the best cosine similarity to a chunk in the prompt."""
    sentences = [s.strip() for s in _SENTENCE.split(answer.model_text) if len(s.split()) >= 3]
    if answer.refused or not sentences or not answer.hits:
        return None
    encoder = assistant.retriever.embedder
    vectors = encoder.encode(sentences)
    context = encoder.encode([h.chunk.text for h in answer.hits])
    return float(np.mean((vectors @ context.T).max(axis=1)))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


def evaluate(
    assistant: Assistant,
    cases: Cases,
    *,
    champion: dict[str, float] | None = None,
    progress: Any = None,
) -> PromptEvaluation:
    from pipelines.vectors import retrieval_metrics

    say = progress or (lambda _message: None)
    k = assistant.config.retrieval.k
    labelled = [(q.question, list(q.relevant)) for q in cases.retrieval]
    metrics = {
        key: float(value) for key, value in retrieval_metrics(assistant.retriever, labelled, k).items()
    }
    retrieval_rows = []
    for question, relevant in labelled:
        hits = assistant.retriever.retrieve(question, k)
        retrieval_rows.append(
            {
                "question": question,
                "relevant": relevant,
                "retrieved": [h.chunk.path for h in hits],
                "scores": [round(h.score, 3) for h in hits],
            }
        )
    say(
        f"    retrieval: recall@{k} {metrics['recall_at_k']:.3f}, MRR {metrics['mrr']:.3f} "
        f"({len(labelled)} labelled questions)"
    )

    results = []
    for n, case in enumerate(cases.cases, 1):
        start = time.perf_counter()
        answer = assistant.answer([{"role": "user", "content": case.question}], json=case.json_mode)
        seconds = time.perf_counter() - start
        failures = check_case(case, answer)
        results.append(
            CaseResult(
                case.name,
                case.question,
                not failures,
                failures,
                answer.text,
                answer.citations,
                answer.refused,
                seconds,
                groundedness(assistant, answer),
            )
        )
        say(
            f"    case {n}/{len(cases.cases)} {'FAIL' if failures else 'pass'} ({seconds:.1f} s): "
            f"{case.name}" + (f" — {'; '.join(failures)}" if failures else "")
        )

    grounded = [r.groundedness for r in results if r.groundedness is not None]
    latencies = [r.seconds for r in results]
    refusal_ok = [
        (r.refused is not None) == c.expect.refuses for r, c in zip(results, cases.cases, strict=True)
    ]
    metrics |= {
        "case_pass_rate": sum(r.passed for r in results) / len(results),
        "refusal_accuracy": sum(refusal_ok) / len(refusal_ok),
        "groundedness": float(np.mean(grounded)) if grounded else math.nan,
        "latency_p50_seconds": percentile(latencies, 50),
        "latency_p95_seconds": percentile(latencies, 95),
    }
    gates = check_gates(assistant.config.evaluation.gates, metrics, champion)
    return PromptEvaluation(
        assistant.name, assistant.version, metrics, gates, results, retrieval_rows, champion
    )


def report_markdown(evaluation: PromptEvaluation) -> str:
    """One screen: verdict, metrics vs champion, failed gates, failing cases."""
    lines = [
        f"## Prompt `{evaluation.prompt}` v{evaluation.version}: "
        + ("gates passed" if evaluation.passed else "**gates failed**"),
        "",
        "| metric | value | champion | change |",
        "|---|---:|---:|---:|",
    ]
    champion = evaluation.champion or {}
    for name, value in evaluation.metrics.items():
        best = champion.get(name)
        change = "" if best is None or math.isnan(best) or math.isnan(value) else f"{value - best:+.3f}"
        lines.append(f"| {name} | {value:.3f} | {'' if best is None else f'{best:.3f}'} | {change} |")
    lines += ["", "| gate | result |", "|---|---|"]
    lines += [f"| {g.gate} | {'pass' if g.passed else '**FAIL**'}: {g.message} |" for g in evaluation.gates]
    failing = [c for c in evaluation.cases if not c.passed]
    if failing:
        lines += ["", "Failing cases:"]
        lines += [f"- {c.name}: {'; '.join(c.failures)}" for c in failing]
    lines += ["", "| case | result | seconds | cites |", "|---|---|---:|---|"]
    lines += [
        f"| {c.name} | {'pass' if c.passed else 'FAIL'} | {c.seconds:.1f} | "
        f"{', '.join(c.citations) or (c.refused or '')} |"
        for c in evaluation.cases
    ]
    return "\n".join(lines) + "\n"
