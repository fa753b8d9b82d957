"""Every committed generated file is what its generator writes today (a stale one fails here)."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import reference
from pipelines.cli.main import build_parser
from pipelines.observability import logs

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "docs/elasticsearch/aip-logs.index-template.json"


def test_cli_reference_is_generated_from_the_parser():
    assert (ROOT / reference.DOC).read_text() == reference.render(build_parser()), (
        "docs/cli.md is stale: run `aip reference`"
    )


def test_cli_reference_lists_every_command_with_its_options():
    text = reference.render(build_parser())
    assert "### aip data prepare" in text and "### aip ci check-commands" in text
    assert "`--check` | fail if docs/cli.md is stale" in text
    assert "aip deploy [--env ENV] [--version N]" in text


def test_lock_check_passes_on_the_repository():
    proc = subprocess.run(
        [sys.executable, "scripts/check_lock.py"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_lock_check_names_a_pin_the_lock_lacks(tmp_path: Path):
    (tmp_path / "requirements").mkdir()
    pyproject = (ROOT / "pyproject.toml").read_text().replace('"scipy==1.17.1"', '"scipy==1.99.0"')
    (tmp_path / "pyproject.toml").write_text(pyproject)
    (tmp_path / "requirements/lock.txt").write_text((ROOT / "requirements/lock.txt").read_text())
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import check_lock
    finally:
        sys.path.pop(0)
    found = check_lock.problems(tmp_path)
    assert found == ["pyproject.toml dependencies: scipy==1.99.0, but lock.txt locks 1.17.1"]


# ---- the Elasticsearch mapping against what the logger emits ------------------------------
def _event_fields() -> set[str]:
    """Keyword names of every `event(...)` call in pipelines/ (the server's flat log fields)."""
    names: set[str] = set()
    for path in (ROOT / "pipelines").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "event":
                names |= {k.arg for k in node.keywords if k.arg}
    return names


def _leaves(obj: dict[str, Any], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, value in obj.items():
        path = f"{prefix}{key}"
        out |= _leaves(value, f"{path}.") if isinstance(value, dict) else {path}
    return out


def _mapped(properties: dict[str, Any], field: str) -> bool:
    """True when `field` (a dotted path) is mapped, or lies under a `flattened` field."""
    head, _, rest = field.partition(".")
    spec = properties.get(head)
    if spec is None:
        return False
    if spec.get("type") == "flattened" or not rest:
        return True
    return _mapped(spec.get("properties", {}), rest)


def test_every_field_the_logger_emits_is_mapped_by_the_index_template():
    fields = _event_fields()
    assert {"model", "version", "status", "latency_ms", "error"} <= fields  # the scan found the calls
    stream = io.StringIO()
    logger = logging.getLogger("aip.test-mapping")
    logger.handlers[:] = [logs.ecs_handler("aip-serve", "prod", stream=stream)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    sample: dict[str, Any] = {name: 1 for name in fields}
    sample["faults"] = {"canary": {"error_rate": 0.1}}
    with logs.context(request_id="r", model="m", version="1", label="canary", env="prod"):
        logger.info("event", extra={"fields": sample})
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("failed")
    emitted: set[str] = set()
    for line in stream.getvalue().splitlines():
        emitted |= _leaves(json.loads(line))
    assert {"labels.model_version", "http.response.status_code", "error.stack_trace"} <= emitted
    properties = json.loads(TEMPLATE.read_text())["template"]["mappings"]["properties"]
    # ecs.version and the process fields come from the ecs@mappings component template.
    unmapped = sorted(f for f in emitted if not _mapped(properties, f) and not f.startswith("ecs."))
    assert not unmapped, f"{TEMPLATE.relative_to(ROOT)} does not map {unmapped}"


@pytest.mark.parametrize("doc", ["docs/metrics.md", "docs/dashboards.md"])
def test_rendered_docs_are_current(doc: str):
    if doc == "docs/metrics.md":
        from pipelines.observability.metrics_doc import write

        assert write(ROOT, check=True), "docs/metrics.md is stale: run `aip metrics docs`"
    else:
        from pipelines.observability.dashboards import build

        result = build(ROOT, check=True)
        assert not getattr(result, "stale", result), f"stale: {result}; run `aip dashboards build`"


def test_dvc_locks_record_the_committed_code_and_configs():
    """dvc.lock holds the md5 of each stage's code and config dependencies; when one is edited without
    `aip data prepare`, every fresh `aip run` rewrites the lock and marks its versions `-dirty`."""
    from ruamel.yaml import YAML

    stale = []
    for lock in sorted(ROOT.glob("datasets/*/dvc.lock")):
        stages = YAML(typ="safe").load(lock.read_text())["stages"]
        for stage, spec in stages.items():
            for dep in spec.get("deps", []):
                path = (lock.parent / dep["path"]).resolve()
                if path.is_relative_to(lock.parent / "data") or not path.is_file():
                    continue  # datasets/<name>/data/ is DVC's, not git's: a fresh clone has none
                if hashlib.md5(path.read_bytes()).hexdigest() != dep["md5"]:
                    stale.append(f"{lock.relative_to(ROOT)} {stage}: {dep['path']}")
    assert not stale, f"stale dvc.lock entries (run `aip data prepare DATASET`): {stale}"
