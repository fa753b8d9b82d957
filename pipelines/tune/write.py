"""Write the winning training values into models/<name>/model.yaml, keeping everything else as is.

`aip tune --write` edits the file in the work tree and nothing else: the change reaches training
through a pull request (the tune workflow opens it), so the fingerprint only ever hashes what git says.
Each value is replaced on its own line (its comment kept), located with ruamel.yaml's positions, so
the rest of the file stays byte for byte; a value that spans lines falls back to a ruamel.yaml round
trip. The new text is validated as a model.yaml before it replaces the file: nothing is half-written.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["format_value", "updated_text", "write_training"]

_COMMENT = re.compile(r"\s+#")


def format_value(value: Any) -> str:
    """YAML 1.2 text of a training value; floats keep a dot (`2.5e-4` would not read back as a float
    in every YAML 1.2 loader), lists stay in flow style."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        if "e" in text:
            mantissa, exponent = text.split("e")
            mantissa = mantissa if "." in mantissa else mantissa + ".0"
            text = f"{mantissa}e{int(exponent)}"
        return text
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if value is None:
        return "null"
    return str(value)


def _round_trip(text: str, values: dict[str, Any]) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    data: Any = yaml.load(text)
    training = data.get("training")
    if training is None:
        training = data["training"] = CommentedMap()
    for name, value in values.items():
        if isinstance(value, list):
            value = CommentedSeq(value)
            value.fa.set_flow_style()
        training[name] = value
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def updated_text(text: str, values: dict[str, Any]) -> str:
    """model.yaml's text with `training.<name>: value` for each value, everything else unchanged."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    data: Any = YAML().load(text)
    training = data.get("training") if isinstance(data, CommentedMap) else None
    if not isinstance(training, CommentedMap) or not training:
        return _round_trip(text, values)
    lines = text.splitlines(keepends=True)
    keys = list(training)
    inserts: list[str] = []
    for name, value in values.items():
        if name not in training:
            inserts.append(f"{' ' * training.lc.key(keys[0])[1]}{name}: {format_value(value)}\n")
            continue
        key_line, _ = training.lc.key(name)
        value_line, value_col = training.lc.value(name)
        following = keys.index(name) + 1
        next_line = training.lc.key(keys[following])[0] if following < len(keys) else None
        single = value_line == key_line and (next_line is None or next_line == key_line + 1)
        if not single or (next_line is None and _continues(lines, key_line)):
            return _round_trip(text, values)
        line = lines[key_line]
        body = line[value_col:].rstrip("\n")
        comment = _COMMENT.search(body)
        new = line[:value_col] + format_value(value)
        if comment:  # keep the comment in its column when the new value fits before it
            hash_col = value_col + body.index("#", comment.start())
            new += " " * max(1, hash_col - len(new)) + body[comment.end() - 1 :]
        lines[key_line] = new + "\n"
    if inserts:
        at = training.lc.key(keys[0])[0]
        lines[at:at] = inserts
    return "".join(lines)


def _continues(lines: list[str], line: int) -> bool:
    """Whether the last key's value goes on below its line (a block list or a folded scalar)."""
    indent = len(lines[line]) - len(lines[line].lstrip())
    for following in lines[line + 1 :]:
        stripped = following.strip()
        if not stripped or stripped.startswith("#"):
            continue
        return len(following) - len(following.lstrip()) > indent or stripped.startswith("- ")
    return False


def write_training(path: Path, values: dict[str, Any]) -> None:
    """Replace `path` with the updated text once it validates as a model.yaml (ConfigError if not)."""
    from pipelines.config import load_model

    text = updated_text(path.read_text(encoding="utf-8"), values)
    with tempfile.TemporaryDirectory() as folder:
        check = Path(folder) / path.parent.name / path.name  # the loader checks name == folder name
        check.parent.mkdir()
        check.write_text(text, encoding="utf-8")
        load_model(check)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".model.yaml.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    Path(tmp).replace(path)
