"""The table that ends `aip run`: one row per model, one column per fact a reviewer checks."""

from __future__ import annotations

from pipelines.lifecycle.run import RunReport

KEY_METRICS = ("accuracy", "macro_f1", "roc_auc")


def render(report: RunReport) -> str:
    header = [
        "model",
        "fingerprint",
        "version",
        "status",
        *KEY_METRICS,
        "gates",
        "train s",
        "eval s",
        "register s",
    ]
    rows = []
    for o in report.outcomes:
        rows.append(
            [
                o.model,
                o.fingerprint or "-",
                f"v{o.version}" if o.version else "-",
                o.status,
                *(f"{o.metrics[m]:.3f}" if m in o.metrics else "-" for m in KEY_METRICS),
                o.gates or "-",
                *(
                    f"{o.seconds[s]:.1f}" if s in o.seconds else "-"
                    for s in ("train", "evaluate", "register")
                ),
            ]
        )
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = [
        f"aip run: environment '{report.env}'   "
        + "   ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items()),
        line,
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        line,
        *("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows),
        line,
    ]
    total = sum(report.seconds.values()) + sum(sum(o.seconds.values()) for o in report.outcomes)
    verdict = "ok" if report.ok else "FAILED: " + ", ".join(o.model for o in report.outcomes if not o.ok)
    out.append(f"{verdict}   total {total:.1f}s")
    return "\n".join(out)
