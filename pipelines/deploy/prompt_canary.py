"""Canary of a prompt version: the traffic mix to the candidate and to a fresh stable, judged.

A prompt version changes what the same generator and index answer, so its canary compares it with
the stable version on the same questions, on the environment's own generator and vector store:

1. the traffic mix is every question of the prompt's cases.yaml (labelled retrieval questions and
   golden cases), shuffled with a fixed seed and replayed `canary.rounds` times;
2. each question goes to the candidate and to a fresh instance of the stable version (the baseline,
   as in the model canary), alternating which goes first so neither gets a warmer cache;
3. each answer is a request of its track: an engine error is a 5xx, a bad request a 4xx, a refusal
   or an answer its "class" (so a version that suddenly refuses more shows as a prediction shift);
4. pipelines/deploy/analysis.py judges errors, latency and the class mix with the prompt's
   `canary.analysis` thresholds, plus one more check: the evaluation score on the mix (golden cases
   passed, retrieval questions answered citing a relevant file) may be at most
   `canary.max_score_regression` below stable's.

Pass: the environment alias moves to the candidate. Anything else: the alias stays (rolled back).
This is a paired replay, not a live traffic split: `aip serve` serves one version of a prompt per
environment alias, so live prompt traffic moves all at once after the replay passed (docs/prompts.md).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.deploy.analysis import CheckResult, IntervalResult, WindowData, analyse, combine
from pipelines.errors import is_expected

if TYPE_CHECKING:
    from pathlib import Path

    from pipelines.config import Cases
    from pipelines.prompts import Assistant
    from pipelines.registry.context import Context


@dataclass(frozen=True)
class Question:
    text: str
    json_mode: bool
    case: Any  # a golden case (pipelines.config.prompt.Case) or None
    relevant: tuple[str, ...]  # a labelled question's files


@dataclass
class PromptCanaryResult:
    prompt: str
    candidate: str
    stable: str
    verdict: str  # promoted | rolled_back
    interval: IntervalResult
    scores: dict[str, float]
    report: Path | None = None

    @property
    def ok(self) -> bool:
        return self.verdict == "promoted"

    @property
    def reason(self) -> str:
        failed = [c for c in self.interval.checks if c.result in ("fail", "inconclusive")]
        return "; ".join(f"{c.check}: {c.detail}" for c in failed) or "every check passed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "candidate": self.candidate,
            "stable": self.stable,
            "verdict": self.verdict,
            "reason": self.reason,
            "scores": self.scores,
            "interval": self.interval.as_dict(),
        }


def traffic_mix(cases: Cases, rounds: int, seed: int = 0) -> list[Question]:
    base = [Question(q.question, False, None, tuple(q.relevant)) for q in cases.retrieval]
    base += [Question(c.question, c.json_mode, c, ()) for c in cases.cases]
    mix = []
    rng = random.Random(seed)
    for _ in range(rounds):
        batch = list(base)
        rng.shuffle(batch)
        mix += batch
    return mix


def _ask(assistant: Assistant, question: Question, window: WindowData) -> bool:
    """Send one question; record it in the window; True when it scores (see the module docstring)."""
    from pipelines.prompts import PromptError
    from pipelines.prompts.evaluation import check_case

    start = time.perf_counter()
    window.requests += 1
    try:
        answer = assistant.answer([{"role": "user", "content": question.text}], json=question.json_mode)
    except PromptError:
        window.client_errors += 1
        return False
    except Exception as exc:
        if not is_expected(exc):
            raise
        window.errors += 1
        return False
    window.latencies.append(time.perf_counter() - start)
    kind = answer.refused or "answered"
    window.class_counts[kind] = window.class_counts.get(kind, 0) + 1
    if question.case is not None:
        return not check_case(question.case, answer)
    return bool(set(question.relevant) & set(answer.citations))


def score_check(candidate: float, stable: float, allowed: float) -> CheckResult:
    threshold = stable - allowed
    ok = candidate >= threshold
    return CheckResult(
        "evaluation_score",
        "pass" if ok else "fail",
        candidate,
        threshold,
        f"score on the traffic mix {candidate:.3f} {'>=' if ok else '<'} stable {stable:.3f} - {allowed:g}",
    )


def run_canary(
    candidate: Assistant, baseline: Assistant, cases: Cases
) -> tuple[IntervalResult, dict[str, float]]:
    settings = candidate.config.canary
    mix = traffic_mix(cases, settings.rounds)
    canary_window, baseline_window = WindowData(), WindowData()
    scored = {"canary": 0, "baseline": 0}
    for n, question in enumerate(mix):
        order = [("canary", candidate, canary_window), ("baseline", baseline, baseline_window)]
        for track, assistant, window in order if n % 2 == 0 else order[::-1]:
            scored[track] += _ask(assistant, question, window)
    scores = {track: count / len(mix) for track, count in scored.items()}
    interval = analyse(canary_window, baseline_window, settings.analysis)
    checks = [
        *interval.checks,
        score_check(scores["canary"], scores["baseline"], settings.max_score_regression),
    ]
    return IntervalResult(combine([c.result for c in checks]), checks, canary_window, baseline_window), scores


def canary_rounds(config: dict[str, Any]) -> int:
    return int(config.get("canary", {}).get("rounds", 1))


def deploy_prompt(ctx: Context, name: str, version: str, *, progress: Any = None) -> PromptCanaryResult:
    """Canary `version` of prompt `name` against @ctx.env's stable; promote or leave the alias."""
    from pipelines.config import load_cases
    from pipelines.prompts import PromptError, from_registered, prompt_file
    from pipelines.prompts import registry as prompt_registry

    say = progress or (lambda _message: None)
    stable = prompt_registry.alias_version(ctx.client, name, ctx.env)
    target = prompt_registry.get_version(ctx.client, name, version)
    if target is None:
        raise PromptError(f"prompt {name} has no version {version} in the registry")
    if stable is None or stable.version == target.version:
        previous = prompt_registry.set_alias(ctx.client, name, ctx.env, target.version)
        say(f"==> prompt {name}: v{target.version} @{ctx.env} (first version: no canary)")
        interval = IntervalResult("pass", [], WindowData(), WindowData())
        return PromptCanaryResult(name, target.version, previous or "", "promoted", interval, {})
    cases = load_cases(ctx.repo.prompt_dir(name) / prompt_file(ctx.repo, name).evaluation.cases)
    say(
        f"==> prompt {name}: canary v{target.version} against v{stable.version} @{ctx.env} "
        f"({len(cases.retrieval) + len(cases.cases)} questions x {canary_rounds(target.config)} per track)"
    )
    canary = from_registered(ctx.repo, ctx.env, target, f"{ctx.env}-canary")
    # The baseline answers from the candidate's index: the store holds the current one (FAISS), and
    # the comparison is then between the two versions' templates and parameters on today's documents.
    baseline = from_registered(ctx.repo, ctx.env, stable, f"{ctx.env}-baseline", strict_index=False)
    interval, scores = run_canary(canary, baseline, cases)
    verdict = "promoted" if interval.result == "pass" else "rolled_back"
    if verdict == "promoted":
        prompt_registry.set_alias(ctx.client, name, ctx.env, target.version)
    result = PromptCanaryResult(name, target.version, stable.version, verdict, interval, scores)
    folder = ctx.repo.state_dir / "reports" / ctx.env / "prompts" / name
    folder.mkdir(parents=True, exist_ok=True)
    result.report = folder / "canary.json"
    result.report.write_text(json.dumps(result.as_dict(), indent=2, default=str) + "\n")
    say(
        f"    prompt {name}: {verdict.replace('_', ' ')} v{target.version} ({result.reason}); "
        f"report {result.report}"
    )
    return result
