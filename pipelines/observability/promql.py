"""Every PromQL expression in the dashboards and rules, and the metric names each one reads.

The no-drift test (tests/observability/test_promql_catalogue.py) checks that every name is in the
catalogue, in a declared external exporter, or recorded by a rule. Parsing uses `promql-parser`
(Python bindings of the Rust PromQL parser that GreptimeDB uses; a dev dependency): promtool has no
command that parses a single expression (`promtool check rules` needs a whole rule file and says
nothing about which metrics an expression reads), and a regex cannot tell a metric name from a
function, a label or a keyword such as `by`/`ignoring`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.observability.catalogue import EXTERNAL_EXPORTERS, known_series

# Grafana's variables are not PromQL: durations become 5m, other variables a plain string.
_DURATION_VARS = re.compile(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}")
_VARS = re.compile(r"\$\{?[A-Za-z_]\w*\}?")
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?P<selector>.+?)\s*,\s*\w+\s*\)\s*$")


@dataclass(frozen=True)
class Expression:
    where: str  # file and panel / rule, for error messages
    expr: str


def substitute_grafana_variables(expr: str) -> str:
    return _VARS.sub("grafana_var", _DURATION_VARS.sub("5m", expr))


def metric_names(expr: str) -> set[str]:
    """Names of the series an expression selects (ValueError with the parser's message if it is invalid)."""
    import promql_parser

    text = substitute_grafana_variables(expr)
    match = _LABEL_VALUES.match(text)
    if match:  # a Grafana variable query: label_values(<selector>, <label>)
        text = match.group("selector")
    try:
        tree = promql_parser.parse(text)
    except Exception as exc:  # the binding raises a bare ValueError-like error with the position
        raise ValueError(f"invalid PromQL: {exc}") from exc
    names: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__":
                    names.add(matcher.value)
        return True

    promql_parser.walk(tree, visit)
    return names


def in_dashboard(path: Path) -> list[Expression]:
    data = json.loads(path.read_text())
    found: list[Expression] = []
    for variable in data.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            found.append(Expression(f"{path.name}: variable ${variable['name']}", str(variable["query"])))
    stack = list(data.get("panels", []))
    while stack:
        panel = stack.pop(0)
        stack.extend(panel.get("panels", []))
        for target in panel.get("targets", []):
            if target.get("expr"):
                found.append(Expression(f"{path.name}: panel '{panel.get('title')}'", target["expr"]))
    return found


def in_rules(path: Path) -> tuple[list[Expression], set[str]]:
    """(expressions, names of recorded series) of one Prometheus rule file."""
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(path.read_text())
    found: list[Expression] = []
    recorded: set[str] = set()
    for group in data.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("record") or rule.get("alert")
            found.append(Expression(f"{path.name}: {group['name']}: {name}", str(rule["expr"])))
            if "record" in rule:
                recorded.add(rule["record"])
    return found, recorded


def is_external(name: str) -> bool:
    """A name exported by a declared external exporter (entries ending in `_` are prefixes)."""
    for names in EXTERNAL_EXPORTERS.values():
        for entry in names:
            if (entry.endswith("_") and name.startswith(entry)) or name == entry:
                return True
    return False


def unknown_metrics(root: Path) -> list[str]:
    """Problems: expressions that do not parse, and metric names nobody exports."""
    rule_files = sorted((root / "dashboards" / "alerts").glob("*.rules.yml"))
    expressions: list[Expression] = []
    recorded: set[str] = set()
    for path in rule_files:
        exprs, names = in_rules(path)
        expressions += exprs
        recorded |= names
    for path in sorted((root / "dashboards" / "rendered").glob("*.json")):
        expressions += in_dashboard(path)
    known = known_series() | recorded
    problems: list[str] = []
    for item in expressions:
        try:
            names = metric_names(item.expr)
        except ValueError as exc:
            problems.append(f"{item.where}: {exc}: {item.expr}")
            continue
        for name in sorted(names):
            if name not in known and not is_external(name):
                problems.append(
                    f"{item.where}: metric '{name}' is not in pipelines/observability/catalogue.py, "
                    f"not recorded by a rule in dashboards/alerts/, and not from a declared external "
                    f"exporter ({', '.join(EXTERNAL_EXPORTERS)})"
                )
    return problems
