"""The table that ends `aip run`: one row per model, one column per fact a reviewer checks."""

from __future__ import annotations

from pipelines.lifecycle.run import ModelOutcome, RunReport

KEY_METRICS = ("accuracy", "macro_f1", "roc_auc")


def render(report: RunReport) -> str:
    header = [
        "model",
        "fingerprint",
        "version",
        "status",
        *KEY_METRICS,
        "gates",
        "deploy",
        "train s",
        "eval s",
        "register s",
        "deploy s",
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
                _deploy_cell(o),
                *(
                    f"{o.seconds[s]:.1f}" if s in o.seconds else "-"
                    for s in ("train", "evaluate", "register", "deploy")
                ),
            ]
        )
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = [
        f"aip run: environment '{report.env}'   "
        + "   ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items())
    ]
    if rows or not report.prompts:  # a prompts-only run has no model table
        out += [
            line,
            "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
            line,
            *("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows),
            line,
        ]
    out += _prompt_rows(report)
    total = sum(report.seconds.values()) + sum(sum(o.seconds.values()) for o in report.outcomes)
    total += sum(sum(p.seconds.values()) for p in report.prompts)
    failed = [o.model for o in report.outcomes if not o.ok] + [p.name for p in report.prompts if not p.ok]
    verdict = "ok" if report.ok else "FAILED: " + ", ".join(failed)
    out.append(f"{verdict}   total {total:.1f}s")
    for o in report.outcomes:
        if o.demo:
            out.append(
                f"canary demo {o.model}: " + ", ".join(f"{k} {v}" for k, v in o.demo.items() if k != "report")
            )
        if o.deploy_report:
            out.append(f"deploy report {o.model}: {o.deploy_report}")
    return "\n".join(out)


def _deploy_cell(o: ModelOutcome) -> str:
    """The deploy verdict, e.g. `promoted v1->v2`, `rolled back`, `promoted (first)`."""
    if not o.deploy:
        return "-"
    if o.deploy == "promoted_directly":
        return "promoted (first)"
    if o.deploy == "promoted" and o.previous:
        return f"promoted v{o.previous}->v{o.version}"
    return o.deploy.replace("_", " ")


PROMPT_METRICS = ("recall_at_k", "mrr", "case_pass_rate", "groundedness", "latency_p95_seconds")


def _prompt_rows(report: RunReport) -> list[str]:
    """A second table for prompts: their metrics differ from the models'."""
    if not report.prompts:
        return []
    header = ["prompt", "fingerprint", "version", "status", *PROMPT_METRICS, "gates", "deploy", "eval s"]
    rows = [
        [
            p.name,
            p.fingerprint or "-",
            f"v{p.version}" + (f" (was v{p.previous})" if p.previous else "") if p.version else "-",
            p.status,
            *(f"{p.metrics[m]:.3f}" if m in p.metrics else "-" for m in PROMPT_METRICS),
            p.gates or "-",
            p.deploy.replace("_", " ") or "-",
            f"{p.seconds['evaluate']:.1f}" if "evaluate" in p.seconds else "-",
        ]
        for p in report.prompts
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = [
        line,
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        line,
        *("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows),
        line,
    ]
    out += [p.error for p in report.prompts if p.error]  # each names its prompt
    return out
