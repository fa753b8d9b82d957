"""`prompts/<name>/prompt.yaml`: a versioned prompt — its template, generation parameters, the
retrieval it needs, its limits, and the gates its evaluation must pass."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from pipelines.config._base import Name, StrictModel
from pipelines.config.model import Analysis, Gate

# Metric name -> True when higher is better. Prompt gates may only name these (docs/prompts.md).
PROMPT_METRICS: dict[str, bool] = {
    "recall_at_k": True,  # share of labelled questions with a relevant file in the top k
    "mrr": True,  # mean reciprocal rank of the first relevant file
    "case_pass_rate": True,  # golden cases whose every assertion held
    "refusal_accuracy": True,  # cases that should (not) be refused and were (not)
    "groundedness": True,  # answer sentences' mean best cosine similarity to the retrieved context
    "latency_p50_seconds": False,
    "latency_p95_seconds": False,
}


class PromptGate(Gate):
    """A gate on the prompt's evaluation metrics (same thresholds as a model gate)."""

    known_metrics: ClassVar[dict[str, bool]] = PROMPT_METRICS


class Template(StrictModel):
    system: str
    """File in the prompt's folder holding the system message (`{{ variable }}` placeholders)."""
    user: str
    """File in the prompt's folder holding the user message (`{{ variable }}` placeholders)."""


class Generation(StrictModel):
    model: str = "smollm2-135m-instruct"
    """Model id: the local SmolLM2 on the embedded default; production sends it (or platform.yaml's
    `generator_model`) to the environment's OpenAI-compatible endpoint."""
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    """0 decodes greedily: the same question gives the same answer, so evaluations are repeatable."""
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    frequency_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    """OpenAI's frequency penalty: discourages repeating tokens (small greedy models loop without it)."""
    max_tokens: int = Field(192, ge=1, le=4096)
    """Most tokens an answer may have; a request may ask for fewer, never more."""
    stop: list[str] = Field(default_factory=list)
    """Strings that end the answer (not included in it)."""


class Retrieval(StrictModel):
    dataset: Name
    """The documents dataset (datasets/<name>/, kind `documents`) whose index answers this prompt."""
    embedding_model: str = "all-minilm-l6-v2"
    """Must equal the model the index was built with (checked when the index is opened)."""
    k: int = Field(4, ge=1, le=50)
    """Chunks retrieved per question."""
    min_score: float = Field(0.3, ge=-1.0, le=1.0)
    """Cosine similarity below which a chunk is ignored; with none left the question is refused as
    out of scope, without calling the model."""
    max_context_chars: int = Field(3000, ge=200)
    """Most characters of retrieved text put into the prompt (whole chunks, best first)."""


class Limits(StrictModel):
    max_question_chars: int = Field(1000, ge=10)
    """Longer questions are refused with 413 (serving) or an error (evaluation)."""
    max_prompt_tokens: int = Field(1536, ge=64)
    """Budget of the rendered prompt; context chunks are dropped from the end to fit it."""


class CaseExpect(StrictModel):
    refuses: bool = False
    """The answer must be a refusal (out of scope), or must not be one."""
    cites: list[str] = Field(default_factory=list)
    """Repo paths: at least one must be among the answer's citations."""
    contains_any: list[str] = Field(default_factory=list)
    """At least one of these (case-insensitive) must appear in the answer text."""
    not_contains: list[str] = Field(default_factory=list)
    """None of these (case-insensitive) may appear in the answer text (e.g. injected instructions)."""
    valid_json: bool = False
    """The answer must parse as a JSON object (ask with `json: true`)."""


class Case(StrictModel):
    name: str
    """Short description shown in the report."""
    question: str
    json_mode: bool = Field(False, alias="json")
    """Ask for a JSON object answer (OpenAI's response_format json_object)."""
    expect: CaseExpect


class LabelledQuestion(StrictModel):
    question: str
    relevant: list[str] = Field(min_length=1)
    """Repo paths of the files that answer the question (any one counts as a hit)."""


class Cases(StrictModel):
    """`cases.yaml`: what the prompt's evaluation runs."""

    retrieval: list[LabelledQuestion] = Field(min_length=1)
    """Labelled questions for recall@k and MRR."""
    cases: list[Case] = Field(min_length=1)
    """Golden cases answered end to end, with deterministic assertions."""


class PromptEvaluation(StrictModel):
    cases: str = "cases.yaml"
    """File in the prompt's folder with the labelled questions and golden cases."""
    gates: list[PromptGate] = Field(min_length=1)


def _prompt_analysis() -> Analysis:
    # Generation takes seconds per request on CPU: fewer requests per verdict than a model's canary,
    # and latency differences under 250 ms are noise next to a multi-second answer.
    return Analysis(min_requests=12, latency_noise_floor_ms=250.0)


class PromptCanary(StrictModel):
    """`aip deploy` of a prompt version (docs/prompts.md): the traffic mix, replayed to the candidate
    and to a fresh instance of the stable version, judged by the model canary's analysis plus the
    evaluation score on that mix."""

    rounds: int = Field(1, ge=1, le=20)
    """Times the traffic mix (every question of cases.yaml) is sent to each track."""
    analysis: Analysis = Field(default_factory=_prompt_analysis)
    """Thresholds of the error and latency checks (as a model's rollout.analysis)."""
    max_score_regression: float = Field(0.05, ge=0, le=1)
    """The candidate's evaluation score on the traffic mix may be at most this far below stable's."""


class PromptConfig(StrictModel):
    name: Name
    description: str
    owner: str
    """Team answerable for the prompt: a key or slug of platform.yaml's `organisation.teams`, or a full
    `@org/team` / `@person` handle (as a model's `owner`)."""
    kind: Literal["retrieval-qa"] = "retrieval-qa"
    """retrieval-qa: answer the last user message from retrieved documents, citing them."""
    template: Template
    variables: dict[str, str] = Field(min_length=1)
    """Every `{{ variable }}` the template uses, with what fills it; each must be used."""
    generator: Generation = Field(default_factory=Generation)
    retrieval: Retrieval
    limits: Limits = Field(default_factory=Limits)
    evaluation: PromptEvaluation
    canary: PromptCanary = Field(default_factory=PromptCanary)

    @model_validator(mode="after")
    def _retrieval_variables(self) -> PromptConfig:
        missing = {"question", "context"} - set(self.variables)
        if missing:
            raise ValueError(
                f"a retrieval-qa prompt declares question and context (missing: {', '.join(sorted(missing))})"
            )
        return self
