"""Prompt templates: `{{ variable }}` placeholders (MLflow's prompt registry syntax), nothing else.

No logic in templates (no loops, no filters): what a prompt sends is the file with values put in,
so a reviewer reads the diff of a template and knows exactly what changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipelines.errors import AipError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_BRACES = re.compile(r"\{\{|\}\}")


class TemplateError(AipError):
    """A template that does not render: a missing or unknown variable, or a broken placeholder."""


def template_variables(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def check_template(text: str) -> list[tuple[int, str]]:
    """(line, problem) for every `{{` or `}}` that is not part of a well-formed placeholder."""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        rest = PLACEHOLDER.sub("", line)
        if _BRACES.search(rest):
            problems.append((number, "broken placeholder: expected `{{ name }}` (letters, digits, _)"))
    return problems


def render(text: str, values: Mapping[str, str], *, where: str = "template") -> str:
    """The template with every placeholder replaced; a missing or unused value is an error."""
    wanted = template_variables(text)
    missing = sorted(wanted - set(values))
    if missing:
        raise TemplateError(f"{where}: no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)
