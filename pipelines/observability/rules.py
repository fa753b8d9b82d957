"""House rules of the Prometheus rule files in dashboards/alerts/ (promtool checks the syntax)."""

from __future__ import annotations

from pathlib import Path

RUNBOOK_PREFIX = (
    "https://github.com/example-org/ai-platform/blob/main/"  # TODO(fork): the bootstrap rewrites it
)
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")
SEVERITIES = ("critical", "warning", "info", "none")


def rule_files(root: Path) -> list[Path]:
    return sorted((root / "dashboards" / "alerts").glob("*.rules.yml"))


def alerts(root: Path) -> list[tuple[Path, dict[str, object]]]:
    from ruamel.yaml import YAML

    found = []
    for path in rule_files(root):
        data = YAML(typ="safe").load(path.read_text())
        for group in data.get("groups", []):
            found += [(path, rule) for rule in group.get("rules", []) if "alert" in rule]
    return found


def problems(root: Path) -> list[str]:
    """Alerts without severity, summary, description or a runbook_url that resolves to docs/runbooks/."""
    out = []
    for path, rule in alerts(root):
        where = f"{path.name}: alert {rule['alert']}"
        labels = rule.get("labels") or {}
        annotations = rule.get("annotations") or {}
        assert isinstance(labels, dict) and isinstance(annotations, dict)
        if labels.get("severity") not in SEVERITIES:
            out.append(f"{where}: labels.severity must be one of {', '.join(SEVERITIES)}")
        for key in REQUIRED_ANNOTATIONS:
            if not str(annotations.get(key, "")).strip():
                out.append(f"{where}: annotations.{key} is missing")
        url = str(annotations.get("runbook_url", ""))
        if url:
            relative = url.removeprefix(RUNBOOK_PREFIX)
            if relative == url or not relative.startswith("docs/runbooks/"):
                out.append(f"{where}: runbook_url must start with {RUNBOOK_PREFIX}docs/runbooks/")
            elif not (root / relative.split("#")[0]).is_file():
                out.append(f"{where}: runbook {relative} does not exist")
    return out
