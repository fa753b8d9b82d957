"""The deploy report: JSON with every interval's numbers, a one-screen summary and a rollout chart.

Written to `<state_dir>/deploys/<env>/<model>/v<version>-<UTC time>/`:

    report.json   every interval's numbers per track, the checks, thresholds, weights and events
    report.md     verdict first, the deciding checks with value and threshold, one line per interval
    rollout.png   aligned panels on one time axis (requests, 5xx rate, p95, canary/baseline latency
                  ratios with their limits, weights with promotion/rollback labelled)

The version's `aip.deploy.<env>.report` tag points at the JSON. `render(report_json)` redraws the
summary and chart from a JSON report, including reports written before the baseline existed (their
intervals hold only "canary" and "stable"; stable is then the comparison side).
"""

from __future__ import annotations

import json
import math
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from pipelines.deploy.result import DeployResult

__all__ = ["as_dict", "markdown", "render", "write"]

# Colours and styles per track: the canary is drawn last, solid and thick, so it is never hidden
# under the baseline it is compared with; production (stable) is thin and grey: context only.
_STYLE = {
    "canary": {"color": "tab:orange", "marker": "o", "linestyle": "-", "linewidth": 2.2, "zorder": 4},
    "baseline": {
        "color": "tab:blue",
        "marker": "s",
        "linestyle": "--",
        "linewidth": 1.6,
        "zorder": 3,
        "markerfacecolor": "none",
    },
    "stable": {"color": "tab:grey", "marker": "^", "linestyle": ":", "linewidth": 1.0, "zorder": 2},
}
_RESULT_COLOUR = {"pass": "tab:green", "fail": "tab:red", "inconclusive": "tab:grey"}
_EVENT_LABEL = {
    "canary_loaded": "canary loaded",
    "promoted": "PROMOTED: canary is the new stable (100%)",
    "rolled_back": "ROLLED BACK: stable serves 100%",
    "aborted": "ABORTED: stable serves 100%",
    "restored": "RESTORED: the repository's version set directly",
}
_MD_MAX_INTERVALS = 12  # report.md stays one screen; report.json has every interval


def as_dict(result: DeployResult) -> dict[str, Any]:
    return {
        "model": result.model,
        "env": result.env,
        "version": result.version,
        "stable_before": result.stable_before,
        "baseline_version": result.baseline_version,
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
        "thresholds": dict(result.thresholds),
        "events": [{"ts": ts, "event": name} for ts, name in result.events],
        "weights": [{"ts": ts, "canary_percent": w} for ts, w in result.weights],
        "intervals": [i.as_dict() for i in result.intervals],
    }


def write(state_dir: Path, result: DeployResult) -> tuple[Path, Path | None]:
    """Write report.json, report.md and (when there were intervals) rollout.png; return (json, png)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(result.started))
    folder = state_dir / "deploys" / result.env / result.model / f"v{result.version}-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / "report.json"
    data = as_dict(result)
    report.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return report, _render(data, folder)


def render(report_json: Path) -> tuple[Path, Path | None]:
    """Redraw report.md and rollout.png beside an existing report.json (old or new shape)."""
    data = json.loads(report_json.read_text(encoding="utf-8"))
    return report_json.with_name("report.md"), _render(data, report_json.parent)


def _render(data: dict[str, Any], folder: Path) -> Path | None:
    (folder / "report.md").write_text(markdown(data), encoding="utf-8")
    if not data.get("intervals"):
        return None  # promoted directly or failed before any analysis: nothing to draw
    chart = folder / "rollout.png"
    _chart(data, chart)
    return chart


# ---- reading a report (both shapes) -----------------------------------------------------------
def _comparison(analysis: dict[str, Any]) -> str:
    """The track the canary was judged against: the baseline, or stable in pre-baseline reports."""
    return "baseline" if analysis.get("baseline") else "stable"


def _summary(analysis: dict[str, Any], track: str) -> dict[str, Any]:
    value = analysis.get(track)
    return value if isinstance(value, dict) else {}


def _min_requests(data: dict[str, Any]) -> int:
    """`min_requests` from the thresholds, else from a min_requests check (pre-threshold reports)."""
    found = (data.get("thresholds") or {}).get("min_requests")
    if found is not None:
        return int(found)
    for interval in data.get("intervals", []):
        for check in interval.get("analysis", {}).get("checks", []):
            if check.get("check") == "min_requests" and check.get("threshold") is not None:
                return int(check["threshold"])
    return 0


def _threshold(data: dict[str, Any], key: str, check: str) -> float | None:
    found = (data.get("thresholds") or {}).get(key)
    if found is not None:
        return float(found)
    for interval in data.get("intervals", []):
        for c in interval.get("analysis", {}).get("checks", []):
            if c.get("check") == check and c.get("threshold") is not None:
                return float(c["threshold"])
    return None


def _events(data: dict[str, Any]) -> list[tuple[float, str]]:
    """The recorded events, else the ones a pre-event report implies (load, and the final verdict)."""
    events = [(float(e["ts"]), str(e["event"])) for e in data.get("events") or []]
    if events:
        return sorted(events)
    weights = data.get("weights") or []
    if weights:
        events.append((float(weights[0]["ts"]), "canary_loaded"))
        if data.get("verdict") in ("promoted", "rolled_back", "aborted") and len(weights) > 1:
            events.append((float(weights[-1]["ts"]), str(data["verdict"])))
    return events


def _deciding(data: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The interval that decided the verdict and its deciding checks (failed, else inconclusive)."""
    intervals = data.get("intervals") or []
    if not intervals:
        return None, []
    last = intervals[-1]
    checks = last.get("analysis", {}).get("checks", [])
    for wanted in ("fail", "inconclusive"):
        picked = [c for c in checks if c.get("result") == wanted]
        if picked and data.get("verdict") not in ("promoted",):
            return last, picked
    return last, []


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _ms(summary: dict[str, Any], key: str) -> str:
    value = summary.get(key)
    return "-" if value is None else f"{value * 1000:.1f}"


# ---- report.md --------------------------------------------------------------------------------
def markdown(data: dict[str, Any]) -> str:
    """A one-screen summary: verdict and reason first, then the deciding checks, intervals, timeline."""
    verdict = str(data.get("verdict", "?"))
    started = float(data.get("started") or 0.0)
    lines = [
        f"# {data.get('model')} v{data.get('version')} @{data.get('env')}: "
        f"{verdict.upper().replace('_', ' ')}",
        "",
        f"**Why:** {data.get('reason') or '-'}",
        "",
    ]
    baseline = data.get("baseline_version")
    lines += [
        f"- canary **v{data.get('version')}**"
        + (
            f" compared with baseline **v{baseline}** (a fresh instance of stable, given the canary's "
            "traffic share)"
            if baseline
            else f" compared with stable v{data.get('stable_before')}"
        ),
        f"- stable before: v{data.get('stable_before')}; alias after: @{data.get('env')} -> "
        f"v{data.get('alias_after')}",
        f"- {float(data.get('seconds') or 0):.0f} s; backend: {data.get('backend')}; "
        f"traffic: {data.get('traffic')}",
        "",
    ]
    interval, deciding = _deciding(data)
    if deciding and interval is not None:
        lines += [
            f"## Deciding checks (step {interval.get('step')}, {interval.get('kind')} at "
            f"{interval.get('weight')}%, attempt {interval.get('attempt')})",
            "",
            "| check | result | value | threshold | detail |",
            "|---|---|---|---|---|",
        ]
        for c in deciding:
            detail = str(c.get("detail", "")).replace("|", "/")
            lines.append(
                f"| {c.get('check')} | **{c.get('result')}** | {_fmt(c.get('value'))} | "
                f"{_fmt(c.get('threshold'))} | {detail} |"
            )
        lines.append("")
    intervals = data.get("intervals") or []
    if intervals:
        min_req = _min_requests(data)
        side = _comparison(intervals[-1].get("analysis", {}))
        lines += [
            f"## Intervals (canary vs {side}; min_requests {min_req})",
            "",
            f"| step | at | weight | result | requests canary/{side} | 5xx canary/{side} | "
            f"p95 ms canary/{side} | p95 ratio |",
            "|---|---|---|---|---|---|---|---|",
        ]
        shown = intervals[-_MD_MAX_INTERVALS:]
        if len(intervals) > len(shown):
            lines.append(
                f"| ... | | | | {len(intervals) - len(shown)} earlier intervals in report.json | | | |"
            )
        for i in shown:
            a = i.get("analysis", {})
            side = _comparison(a)
            c, b = _summary(a, "canary"), _summary(a, side)
            ratio = _ratio(c, b, "latency_p95_seconds", min_req)
            lines.append(
                f"| {i.get('step')}.{i.get('attempt')} | +{float(i.get('end', 0)) - started:.0f} s | "
                f"{i.get('weight')}% | {i.get('result')} | {c.get('requests', 0)}/{b.get('requests', 0)} | "
                f"{c.get('errors', 0)}/{b.get('errors', 0)} | {_ms(c, 'latency_p95_seconds')}/"
                f"{_ms(b, 'latency_p95_seconds')} | {_fmt(ratio)} |"
            )
        lines.append("")
    events = _events(data)
    if events:
        lines += ["## Timeline", ""]
        lines += [f"- +{ts - started:.1f} s {_EVENT_LABEL.get(name, name)}" for ts, name in events]
        lines.append("")
    lines.append(
        "Chart: rollout.png; every number: report.json." if intervals else "Every number: report.json."
    )
    return "\n".join(lines) + "\n"


def _ratio(canary: dict[str, Any], other: dict[str, Any], key: str, min_requests: int) -> float | None:
    """canary/other for `key`, or None when either side is below min_requests or has no value."""
    if canary.get("requests", 0) < min_requests or other.get("requests", 0) < min_requests:
        return None
    c, o = canary.get(key), other.get(key)
    if c is None or o is None or not o:
        return None
    return float(c) / float(o)


# ---- rollout.png ------------------------------------------------------------------------------
def _style(track: str, side: str) -> str:
    """The comparison side is drawn as the baseline, whichever track it is (old reports: stable)."""
    return "baseline" if track == side else track


def _legend(ax: Axes) -> None:
    """Above the panel, outside the data: a legend inside would cover the first interval."""
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=7, ncol=4, frameon=False, borderaxespad=0.1)


def _panel_of(check: str) -> str:
    if check.startswith("latency"):
        return "ratio"
    if "error" in check or check.startswith(("shed", "bake")):
        return "errors"
    return "requests"  # min_requests, prediction_shift and any check added later


def _chart(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.transforms import blended_transform_factory

    t0 = float(data.get("started") or 0.0)
    intervals = data.get("intervals") or []
    min_req = _min_requests(data)
    has_baseline = any(i.get("analysis", {}).get("baseline") for i in intervals)
    side = "baseline" if has_baseline else "stable"
    tracks = ["canary", "baseline", "stable"] if has_baseline else ["canary", "stable"]
    mids = [((float(i["start"]) + float(i["end"])) / 2 - t0) for i in intervals]
    end = max(float(data.get("finished") or t0) - t0, *(float(i["end"]) - t0 for i in intervals))

    def point(interval: dict[str, Any], track: str, key: str, scale: float) -> float:
        s = _summary(interval.get("analysis", {}), track)
        value = s.get(key)
        # Below min_requests a rate or quantile is noise (3 requests gave "p95"): not drawn.
        if value is None or s.get("requests", 0) < max(min_req, 1):
            return math.nan
        return float(value) * scale

    fig, axes = plt.subplots(
        5, 1, figsize=(9, 12.5), sharex=True, gridspec_kw={"height_ratios": [1, 1, 1, 1.1, 0.9]}
    )
    ax_req, ax_err, ax_lat, ax_ratio, ax_w = axes
    panels: dict[str, Axes] = {"requests": ax_req, "errors": ax_err, "ratio": ax_ratio}

    # Interval bands on every panel, coloured by result.
    for interval in intervals:
        colour = _RESULT_COLOUR.get(str(interval.get("result")), "tab:grey")
        for ax in axes[:4]:
            ax.axvspan(float(interval["start"]) - t0, float(interval["end"]) - t0, color=colour, alpha=0.07)

    # 1. Requests per track per interval (bars), with the min_requests line.
    widths = [max(0.5, (float(i["end"]) - float(i["start"])) * 0.8) for i in intervals]
    for k, track in enumerate(tracks):
        offsets = [
            m + (k - (len(tracks) - 1) / 2) * w / len(tracks) for m, w in zip(mids, widths, strict=True)
        ]
        counts = [int(_summary(i.get("analysis", {}), track).get("requests", 0) or 0) for i in intervals]
        bars = ax_req.bar(
            offsets,
            counts,
            width=[w / len(tracks) for w in widths],
            color=_STYLE[_style(track, side)]["color"],
            alpha=0.4 if _style(track, side) == "stable" else 0.85,
            label=track,
            zorder=3,
        )
        ax_req.bar_label(bars, labels=[str(c) for c in counts], fontsize=6, padding=1)
    if min_req:
        ax_req.axhline(min_req, color="black", linestyle=":", linewidth=1)
        ax_req.annotate(
            f"min_requests {min_req}", (0.995, min_req), xycoords=("axes fraction", "data"),
            ha="right", va="bottom", fontsize=7,
        )  # fmt: skip
    ax_req.set_ylabel("requests / interval")
    ax_req.set_ylim(0, ax_req.get_ylim()[1] * 1.25)
    _legend(ax_req)

    # 2. 5xx error rate (never below 0) with max_error_rate.
    for track in tracks:
        values = [point(i, track, "error_rate", 100) for i in intervals]
        ax_err.plot(
            mids, values, label=track, clip_on=False, **_STYLE[_style(track, side)]
        )  # 0% shows on the axis
    max_rate = _threshold(data, "max_error_rate", "error_rate")
    if max_rate is not None:
        ax_err.axhline(max_rate * 100, color="tab:red", linestyle=":", linewidth=1)
        ax_err.annotate(
            f"max_error_rate {max_rate * 100:g}%", (0.995, max_rate * 100),
            xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=7, color="tab:red",
        )  # fmt: skip
    top = max(
        [v for i in intervals for t in tracks if math.isfinite(v := point(i, t, "error_rate", 100))] + [0.0]
    )
    ax_err.set_ylim(0, max(top, (max_rate or 0) * 100, 0.5) * 1.3)
    ax_err.set_ylabel("5xx error rate (%)")
    _legend(ax_err)

    # 3. Absolute latency p95 per track.
    for track in tracks:
        ax_lat.plot(
            mids, [point(i, track, "latency_p95_seconds", 1000) for i in intervals], label=f"{track} p95",
            **_STYLE[_style(track, side)],
        )  # fmt: skip
    ax_lat.set_ylim(bottom=0)
    ax_lat.set_ylabel("latency p95 (ms)")
    _legend(ax_lat)

    # 4. The ratios the latency checks judge, with their limits.
    all_ratios: list[float] = []
    for key, label, limit_key, check, style in (
        ("latency_p95_seconds", "p95", "max_latency_ratio_p95", "latency_p95_ratio", "-"),
        ("latency_p99_seconds", "p99", "max_latency_ratio_p99", "latency_p99_ratio", "--"),
    ):
        colour = "tab:orange" if label == "p95" else "tab:brown"
        ratios = []
        for i in intervals:
            a = i.get("analysis", {})
            r = _ratio(_summary(a, "canary"), _summary(a, _comparison(a)), key, max(min_req, 1))
            ratios.append(math.nan if r is None else r)
        ax_ratio.plot(
            mids, ratios, marker="o", linestyle=style, color=colour, label=f"{label} canary/{side}", zorder=4
        )
        all_ratios += [r for r in ratios if math.isfinite(r)]
        limit = _threshold(data, limit_key, check)
        if limit is not None:
            ax_ratio.axhline(limit, color=colour, linestyle=":", linewidth=1)
            ax_ratio.annotate(
                f"max {label} ratio {limit:g}", (0.72 if label == "p95" else 0.995, limit),
                xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=7, color=colour,
            )  # fmt: skip
    ax_ratio.axhline(1.0, color="black", linewidth=0.6)
    if max(all_ratios, default=1.0) > 3:
        ax_ratio.set_yscale("log")  # a 20x regression would squash the 1.2 and 1.3 limits flat
    else:
        low, high = ax_ratio.get_ylim()
        ax_ratio.set_ylim(min(low, 0.8), max(high, 1.5))
    ax_ratio.set_ylabel(f"latency canary / {side}")
    _legend(ax_ratio)

    # Pass/fail markers on the panel of the check that decided each interval.
    for interval, x in zip(intervals, mids, strict=True):
        result = str(interval.get("result"))
        checks = interval.get("analysis", {}).get("checks", [])
        if result == "pass":
            trans = blended_transform_factory(ax_req.transData, ax_req.transAxes)
            text = "bake ok" if interval.get("kind") == "pause" else "pass"
            ax_req.text(
                x, 0.9, text, transform=trans, ha="center", fontsize=7, color="tab:green", weight="bold"
            )
            continue
        deciding = [c for c in checks if c.get("result") == result] or checks[:1]
        for n, c in enumerate(deciding[:3]):
            ax = panels[_panel_of(str(c.get("check")))]
            trans = blended_transform_factory(ax.transData, ax.transAxes)
            label = f"{c.get('check')} {_fmt(c.get('value'))}"
            if c.get("threshold") is not None:
                label += f" (limit {_fmt(c.get('threshold'))})"
            left = x > end * 0.55  # text on the side with room
            x = x + end * (-0.015 if left else 0.015)  # beside the data point, not on it
            ax.plot([x], [0.82 - 0.12 * n], transform=trans, marker="X" if result == "fail" else "d",
                    color=_RESULT_COLOUR.get(result, "tab:grey"), markersize=9, zorder=5)  # fmt: skip
            ax.text(x, 0.82 - 0.12 * n, f"{label}  " if left else f"  {label}", transform=trans, fontsize=7,
                    va="center", ha="right" if left else "left", color=_RESULT_COLOUR.get(result, "tab:grey"),
                    zorder=5)  # fmt: skip

    # 5. Weights, with each event named where it happened.
    weights = data.get("weights") or []
    if weights:
        xs = [float(w["ts"]) - t0 for w in weights] + [end]
        ys = [float(w["canary_percent"]) for w in weights] + [float(weights[-1]["canary_percent"])]
        ax_w.step(
            xs, ys, where="post", color="tab:orange", linewidth=2.2, label=f"canary v{data.get('version')}"
        )
        if data.get("baseline_version"):
            # The baseline matches the canary's share while both fit (10/10, 50/50); at 100% it is gone.
            base = [min(y, 100 - y) for y in ys]
            ax_w.step(xs, base, where="post", color="tab:blue", linestyle="--", linewidth=1.4,
                      label=f"baseline v{data.get('baseline_version')} (same share)")  # fmt: skip
    for n, (ts, name) in enumerate(_events(data)):
        x = ts - t0
        colour = {"promoted": "tab:green", "rolled_back": "tab:red", "aborted": "tab:red"}.get(name, "black")
        for ax in axes:
            ax.axvline(x, color=colour, linestyle="-." if name != "canary_loaded" else ":", linewidth=1)
        text = _EVENT_LABEL.get(name, name)
        if name == "promoted":
            text = f"PROMOTED: v{data.get('version')} is stable (100%); canary slot empty"
        ax_w.annotate(
            text, (x, 60 - 22 * (n % 3)), fontsize=7, color=colour, weight="bold",
            ha="right" if x > end * 0.6 else "left", xytext=(-4 if x > end * 0.6 else 4, 0),
            textcoords="offset points",
        )  # fmt: skip
    ax_w.set_ylabel("traffic share (%)")
    ax_w.set_ylim(-5, 105)
    ax_w.set_xlabel("seconds since the deploy started")
    _legend(ax_w)

    verdict = str(data.get("verdict", "?")).replace("_", " ")
    compared = (
        f"baseline v{data.get('baseline_version')}"
        if has_baseline
        else f"stable v{data.get('stable_before')}"
    )
    fig.suptitle(
        f"{data.get('model')} @{data.get('env')}: canary v{data.get('version')} vs {compared} "
        f"-> {verdict.upper()}",
        fontsize=11,
        weight="bold",
    )
    reason = textwrap.shorten(str(data.get("reason") or ""), width=330, placeholder=" ...")
    fig.text(0.5, 0.955, "\n".join(textwrap.wrap(reason, 110)), ha="center", va="top", fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=90)
    plt.close(fig)
