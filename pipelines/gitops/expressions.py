"""GitHub Actions expressions (`${{ ... }}`, `if:`), evaluated for the local workflow runner.

Covers what workflows use: literals, context paths (`github.event.pull_request.number`,
`needs.plan.outputs.matrix`, `matrix.name`, `a['b']`), `! == != < <= > >= && ||`, parentheses, and the
functions contains, startsWith, endsWith, format, join, toJSON, fromJSON, success, always, failure,
cancelled. Semantics follow GitHub's: `&&`/`||` return an operand, string comparison ignores case,
`null`, `false`, `0`, `''` are falsy. Unknown functions or syntax raise ExpressionError.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from pipelines.errors import AipError

__all__ = ["ExpressionError", "evaluate", "interpolate", "truthy"]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\].,*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


class ExpressionError(AipError):
    """A workflow expression could not be parsed or evaluated."""


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and not (isinstance(value, float) and math.isnan(value))


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read expression {text!r} at {text[pos:]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if isinstance(a, bool | int | float) and isinstance(b, str):
        try:
            return float(a) == float(b)
        except ValueError:
            return False
    if isinstance(b, bool | int | float) and isinstance(a, str):
        return _equal(b, a)
    return bool(a == b)


def _format(template: str, *args: Any) -> str:
    return re.sub(r"\{(\d+)\}", lambda m: to_string(args[int(m.group(1))]), template)


class _Parser:
    def __init__(self, text: str, context: Mapping[str, Any], status: Mapping[str, bool]) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.text = text
        self.context = context
        self.status = status
        self.functions: dict[str, Callable[..., Any]] = {
            "contains": lambda a, b: (
                any(_equal(x, b) for x in a)
                if isinstance(a, list)
                else to_string(b).casefold() in to_string(a).casefold()
            ),
            "startswith": lambda a, b: to_string(a).casefold().startswith(to_string(b).casefold()),
            "endswith": lambda a, b: to_string(a).casefold().endswith(to_string(b).casefold()),
            "format": _format,
            "join": lambda a, sep=",": (
                to_string(sep).join(to_string(x) for x in a) if isinstance(a, list) else to_string(a)
            ),
            "tojson": lambda a: json.dumps(a, indent=2),
            "fromjson": json.loads,
            "success": lambda: self.status.get("success", True),
            "always": lambda: True,
            "failure": lambda: self.status.get("failure", False),
            "cancelled": lambda: False,
        }

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExpressionError(f"unexpected end of expression {self.text!r}")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"expected {expected!r} in {self.text!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected {self.peek()!r} in {self.text!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == "&&":
            self.take()
            right = self.compare()
            value = right if truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        while self.peek() in ("==", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            right = self.unary()
            if op == "==":
                value = _equal(value, right)
            elif op == "!=":
                value = not _equal(value, right)
            else:
                a, b = float(value or 0), float(right or 0)
                value = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.postfix(self.primary())

    def primary(self) -> Any:
        kind, text = self.take()
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r} in {self.text!r}")
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        if self.peek() == "(":
            if lowered not in self.functions:
                raise ExpressionError(f"unknown function {text}() in {self.text!r}")
            self.take("(")
            args = []
            while self.peek() != ")":
                args.append(self.or_())
                if self.peek() == ",":
                    self.take()
            self.take(")")
            return self.functions[lowered](*args)
        return self.context.get(text)

    def postfix(self, value: Any) -> Any:
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                key = self.take()[1]
                if key == "*":
                    value = list(value.values()) if isinstance(value, dict) else value
                    continue
            else:
                key = self.or_()
                self.take("]")
            if isinstance(value, dict):
                value = next((v for k, v in value.items() if str(k).casefold() == str(key).casefold()), None)
            elif isinstance(value, list) and isinstance(key, int | float):
                value = value[int(key)] if 0 <= int(key) < len(value) else None
            else:
                value = None
        return value


def evaluate(text: str, context: Mapping[str, Any], status: Mapping[str, bool] | None = None) -> Any:
    """The value of one expression (without `${{ }}`)."""
    return _Parser(text, context, status or {}).parse()


_INTERP = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def interpolate(text: str, context: Mapping[str, Any]) -> Any:
    """`text` with each `${{ expr }}` replaced; a string that is exactly one expression keeps its type."""
    whole = _INTERP.fullmatch(text.strip())
    if whole:
        return evaluate(whole.group(1), context)
    return _INTERP.sub(lambda m: to_string(evaluate(m.group(1), context)), text)
