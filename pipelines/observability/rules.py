"""House rules of the Prometheus rule files in dashboards/alerts/ (promtool checks the syntax)."""

from __future__ import annotations

import re
from pathlib import Path

# A runbook link: a page under docs/runbooks/ on main of the repository in platform.yaml
# (organisation.repository); `aip render` rewrites the links when the repository there changes.
RUNBOOK_URL = re.compile(
    r"^https://github\.com/(?P<repository>[^/]+/[^/]+)/blob/main/(?P<page>docs/runbooks/.+)$"
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


def _repository(root: Path) -> str | None:
    """platform.yaml's `owner/name`, when `root` has a platform.yaml."""
    if not (root / "platform.yaml").is_file():
        return None
    from pipelines.config import load_platform

    return load_platform(root / "platform.yaml").organisation.repository


def problems(root: Path) -> list[str]:
    """Alerts without severity, summary, description or a runbook_url that resolves to docs/runbooks/."""
    repository = _repository(root)
    expected = f"https://github.com/{repository or '<owner>/<name>'}/blob/main/docs/runbooks/"
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
            match = RUNBOOK_URL.match(url)
            if match is None or (repository is not None and match["repository"] != repository):
                out.append(f"{where}: runbook_url must start with {expected} (platform.yaml's repository)")
            elif not (root / match["page"].split("#")[0]).is_file():
                out.append(f"{where}: runbook {match['page']} does not exist")
    return out
