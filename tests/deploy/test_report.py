"""The deploy report: report.json, report.md and rollout.png drawn from constructed rollouts.

Intervals come from the project's own `analyse()` on synthetic windows, so their checks have the
shape a real rollout writes; the chart is rendered for real (matplotlib, Agg) and checked as a PNG.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipelines.config.model import Analysis
from pipelines.deploy.analysis import WindowData, analyse
from pipelines.deploy.report import markdown, render, write
from pipelines.deploy.result import DeployResult, Interval

T = Analysis()
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def window(rng: np.random.Generator, n: int, *, errors: int = 0, extra_ms: float = 0.0) -> WindowData:
    latencies = (rng.gamma(4.0, 1.0, size=n - errors) + extra_ms) / 1000
    benign = int(rng.binomial(n - errors, 0.63))
    counts = {"benign": benign, "malignant": n - errors - benign}
    return WindowData(requests=n, errors=errors, latencies=latencies.tolist(), class_counts=counts)


def rollout(verdict: str, *, slow_canary_at_step: int | None = None) -> DeployResult:
    """A 10% analysis, a 50% analysis and a bake, as the controller records them."""
    rng = np.random.default_rng(7)
    result = DeployResult(
        "tumor-classifier", "local", "3", "2", "dry_run", started=T0, baseline_version="2",
        thresholds=T.model_dump(), backend="aip serve admin API", load="replaying 113 inputs",
    )  # fmt: skip
    result.weights.append((T0 + 1, 0))
    result.events.append((T0 + 1, "canary_loaded"))
    t = T0 + 2
    for step, (weight, kind) in enumerate(((10, "analysis"), (50, "analysis"), (100, "pause")), 1):
        result.weights.append((t, weight))
        slow = 150.0 if slow_canary_at_step == step else 0.0
        n = 40 * weight // 10 + 120
        canary, baseline = window(rng, n, extra_ms=slow), window(rng, n)
        stable = window(rng, max(3, 1400 - 2 * n))
        outcome = analyse(canary, baseline, T, stable)
        result.intervals.append(Interval(step, kind, weight, t, t + 20, 1, outcome.result, outcome.as_dict()))
        t += 20
        if outcome.result == "fail":
            failed = "; ".join(f"{c.check}: {c.detail}" for c in outcome.failed())
            result.reason = f"step {step} failed: {failed}"
            break
    result.weights.append((t, 0))
    result.events.append((t, verdict))
    result.verdict = verdict  # type: ignore[assignment]
    result.reason = result.reason or "every analysis passed (2 steps) and the bake"
    result.finished = t + 1
    return result


def test_a_rollback_on_latency_names_the_failed_check_with_its_numbers(tmp_path: Path):
    result = rollout("rolled_back", slow_canary_at_step=2)
    assert result.intervals[-1].result == "fail"  # the constructed fault is real for analyse()
    report, chart = write(tmp_path, result)

    data = json.loads(report.read_text())
    assert data["baseline_version"] == "2" and data["verdict"] == "rolled_back"
    assert data["thresholds"]["max_latency_ratio_p95"] == T.max_latency_ratio_p95
    assert [e["event"] for e in data["events"]] == ["canary_loaded", "rolled_back"]
    assert data["intervals"][-1]["analysis"]["baseline"]["requests"] > 0

    md = (report.parent / "report.md").read_text()
    first = md.splitlines()[0]
    assert first == "# tumor-classifier v3 @local: ROLLED BACK"
    failed = next(c for c in data["intervals"][-1]["analysis"]["checks"] if c["check"] == "latency_p95_ratio")
    assert failed["result"] == "fail"
    row = next(line for line in md.splitlines() if line.startswith("| latency_p95_ratio |"))
    assert "**fail**" in row and f"{failed['value']:.3g}" in row and f"{T.max_latency_ratio_p95:.3g}" in row
    assert "baseline **v2**" in md and "ROLLED BACK: stable serves 100%" in md
    assert len(md.splitlines()) <= 45  # one screen

    assert chart is not None and chart.read_bytes()[:8] == PNG_MAGIC
    assert chart.stat().st_size > 30_000  # five panels of real drawing, not an empty figure


def test_a_promotion_is_labelled_as_such_and_has_no_deciding_failure(tmp_path: Path):
    result = rollout("promoted")
    assert {i.result for i in result.intervals} == {"pass"}
    report, chart = write(tmp_path, result)
    md = (report.parent / "report.md").read_text()
    assert md.startswith("# tumor-classifier v3 @local: PROMOTED")
    assert "Deciding checks" not in md
    assert "PROMOTED: canary is the new stable (100%)" in md
    assert chart is not None and chart.exists()


def test_points_below_min_requests_are_not_compared():
    result = rollout("promoted")
    last = result.intervals[-1].analysis
    last["baseline"]["requests"] = 3  # the review's case: a "p95" from 3 requests
    from pipelines.deploy.report import as_dict

    md = markdown(as_dict(result))
    row = next(line for line in md.splitlines() if line.startswith("| 3.1 |"))
    assert row.rstrip().endswith("| - |")  # no p95 ratio drawn or printed from 3 requests


def test_a_first_version_has_a_summary_but_no_chart(tmp_path: Path):
    result = DeployResult(
        "tumor-classifier", "local", "1", None, "promoted_directly", started=T0, finished=T0
    )
    result.reason = "first version in the environment: nothing to compare with"
    report, chart = write(tmp_path, result)
    assert chart is None
    assert (
        (report.parent / "report.md")
        .read_text()
        .startswith("# tumor-classifier v1 @local: PROMOTED DIRECTLY")
    )


def test_a_report_from_before_the_baseline_is_redrawn_with_stable_as_the_comparison(tmp_path: Path):
    result = rollout("rolled_back", slow_canary_at_step=2)
    from pipelines.deploy.report import as_dict

    old = as_dict(result)
    for key in ("baseline_version", "events", "thresholds"):
        del old[key]
    for interval in old["intervals"]:
        analysis = interval["analysis"]
        analysis["stable"] = analysis.pop("baseline")  # old shape: canary vs stable only
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps(old))
    md_path, chart = render(folder / "report.json")
    md = md_path.read_text()
    assert "compared with stable v2" in md and "canary vs stable; min_requests 100" in md
    assert "ROLLED BACK: stable serves 100%" in md  # the event is inferred from the last weight
    assert chart is not None and chart.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize("verdict", ["aborted"])
def test_an_abort_lists_the_inconclusive_checks(tmp_path: Path, verdict: str):
    result = rollout(verdict)
    canary = WindowData(requests=12, latencies=[0.004] * 12, class_counts={"benign": 12})
    too_few = analyse(canary, WindowData(requests=10, latencies=[0.004] * 10), T)
    result.intervals.append(
        Interval(4, "analysis", 50, T0 + 70, T0 + 80, 4, "inconclusive", too_few.as_dict())
    )
    result.reason = "step 4 inconclusive 4 times in a row (max_inconclusive 3)"
    report, _ = write(tmp_path, result)
    md = (report.parent / "report.md").read_text()
    assert "| min_requests | **inconclusive** | 10 | 100 |" in md
