"""The deploy report: JSON with every interval's numbers and a PNG chart of the rollout.

Written to `<state_dir>/deploys/<env>/<model>/v<version>-<UTC time>/` (`report.json`, `rollout.png`);
the version's `aip.deploy.<env>.report` tag points at the JSON.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.deploy.controller import DeployResult

__all__ = ["as_dict", "write"]


def as_dict(result: DeployResult) -> dict[str, Any]:
    return {
        "model": result.model,
        "env": result.env,
        "version": result.version,
        "stable_before": result.stable_before,
        "verdict": result.verdict,
        "reason": result.reason,
        "alias_after": result.alias_version,
        "started": result.started,
        "finished": result.finished,
        "seconds": round(result.seconds, 3),
        "backend": result.backend,
        "metrics_source": result.metrics,
        "traffic": result.load or "real traffic (not driven by the controller)",
        "client_view": result.client_summary,
        "weights": [{"ts": ts, "canary_percent": w} for ts, w in result.weights],
        "intervals": [i.as_dict() for i in result.intervals],
    }


def write(state_dir: Path, result: DeployResult) -> tuple[Path, Path | None]:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(result.started))
    folder = state_dir / "deploys" / result.env / result.model / f"v{result.version}-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / "report.json"
    report.write_text(json.dumps(as_dict(result), indent=2) + "\n", encoding="utf-8")
    chart = folder / "rollout.png" if result.intervals else None
    if chart is not None:
        _chart(result, chart)
    return report, chart


def _chart(result: DeployResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = result.started
    mids = [((i.start + i.end) / 2 - t0) for i in result.intervals]

    def series(track: str, key: str, scale: float = 1.0) -> list[float]:
        out = []
        for interval in result.intervals:
            value = interval.analysis.get(track, {}).get(key)
            out.append(value * scale if value is not None else float("nan"))
        return out

    fig, (ax_err, ax_lat, ax_w) = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    for track, colour in (("canary", "tab:orange"), ("stable", "tab:blue")):
        ax_err.plot(mids, series(track, "error_rate", 100), "o-", color=colour, label=track)
        ax_lat.plot(
            mids, series(track, "latency_p95_seconds", 1000), "o-", color=colour, label=f"{track} p95"
        )
        ax_lat.plot(
            mids, series(track, "latency_p99_seconds", 1000), "x--", color=colour, label=f"{track} p99"
        )
    for interval, x in zip(result.intervals, mids, strict=True):
        colour = {"pass": "tab:green", "fail": "tab:red"}.get(interval.result, "tab:grey")
        ax_err.axvspan(interval.start - t0, interval.end - t0, color=colour, alpha=0.08)
        ax_err.annotate(
            interval.result, (x, 0), textcoords="offset points", xytext=(0, 4), fontsize=7, ha="center"
        )
    ax_err.set_ylabel("error rate (%)")
    ax_err.legend(loc="upper left", fontsize=8)
    ax_lat.set_ylabel("latency (ms)")
    ax_lat.legend(loc="upper left", fontsize=8)
    if result.weights:
        xs = [ts - t0 for ts, _ in result.weights] + [result.finished - t0]
        ys = [w for _, w in result.weights] + [result.weights[-1][1]]
        ax_w.step(xs, ys, where="post", color="tab:purple")
    ax_w.set_ylabel("canary weight (%)")
    ax_w.set_ylim(-5, 105)
    ax_w.set_xlabel("seconds since the deploy started")
    fig.suptitle(
        f"{result.model}: v{result.version} vs stable v{result.stable_before} @{result.env} -> "
        f"{result.verdict.replace('_', ' ')}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
