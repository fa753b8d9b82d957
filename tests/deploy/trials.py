"""Counts of the fault suite's repeated trials, printed at the end of the pytest run (conftest.py).

The issue's evidence is "every fault kind rolled back in every trial" and "healthy twins promoted in
every trial": the counts, not just a green test, are what a reader checks.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

__all__ = ["TRIALS", "TrialCounts"]


@dataclass
class TrialCounts:
    # (model, kind) -> verdicts seen, and the verdict every trial should end in
    verdicts: dict[tuple[str, str], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    expected: dict[tuple[str, str], str] = field(default_factory=dict)
    # model -> analysis interval results of the healthy twins
    twin_intervals: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def record(self, model: str, kind: str, verdict: str, *, expected: str) -> None:
        self.verdicts[(model, kind)][verdict] += 1
        self.expected[(model, kind)] = expected

    def intervals(self, model: str, results: list[str]) -> None:
        self.twin_intervals[model].update(results)

    def lines(self) -> list[str]:
        out = []
        for (model, kind), seen in sorted(self.verdicts.items()):
            total = sum(seen.values())
            want = self.expected[(model, kind)]
            others = ", ".join(f"{v} {n}" for v, n in sorted(seen.items()) if v != want)
            out.append(
                f"{model:18} {kind:34} {seen[want]}/{total} {want.replace('_', ' ')}"
                + (f" ({others})" if others else "")
            )
        for model, results in sorted(self.twin_intervals.items()):
            total = sum(results.values())
            out.append(
                f"{model:18} {'healthy-twin analysis intervals':34} {results['pass']}/{total} pass "
                f"({results['inconclusive']} held, {results['fail']} failed)"
            )
        return out


TRIALS = TrialCounts()
