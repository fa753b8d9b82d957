"""`aip logs apply-template` (pipelines/observability/elasticsearch.py) against a loopback HTTP server.

THE EDGE: no Elasticsearch or OpenSearch server can run here. The stand-in below answers the two
requests the way Elasticsearch 8's documented APIs do (PUT `_ingest/pipeline/<id>` and PUT
`_index_template/<name>`: `{"acknowledged": true}`, errors as `{"error": {"type", "reason",
"root_cause"}, "status"}`, 401 `security_exception` without credentials) and checks what a real
cluster would refuse first: unknown top-level fields, missing `index_patterns`, component templates
that do not exist, a default pipeline that was never created. That a real cluster accepts every
mapping in the template is not proven here.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipelines.observability.elasticsearch import TemplateError, apply, auth_headers
from tests.support.cli import run_aip

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_FIELDS = {"index_patterns", "template", "composed_of", "priority", "version", "_meta", "data_stream"}
BUILT_IN_COMPONENTS = {"ecs@mappings", "logs@mappings", "logs@settings"}  # shipped with Elasticsearch 8


class FakeCluster(BaseHTTPRequestHandler):
    pipelines: dict[str, Any]
    templates: dict[str, Any]
    calls: list[tuple[str, str, str | None]]
    credentials: set[str]

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: Any) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _error(self, status: int, kind: str, reason: str) -> None:
        error = {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason}
        self._answer(status, {"error": error, "status": status})

    def do_PUT(self) -> None:
        auth = self.headers.get("Authorization")
        self.calls.append(("PUT", self.path, auth))
        if auth not in self.credentials:
            reason = f"missing authentication credentials for REST request [{self.path}]"
            return self._error(401, "security_exception", reason)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        kind, _, name = self.path.strip("/").rpartition("/")
        if kind == "_ingest/pipeline":
            if not isinstance(body.get("processors"), list):
                return self._error(400, "parse_exception", "[processors] required property is missing")
            self.pipelines[name] = body
        elif kind == "_index_template":
            unknown = sorted(set(body) - TEMPLATE_FIELDS)
            if unknown:
                return self._error(
                    400, "x_content_parse_exception", f"[1:2] [index_template] unknown field [{unknown[0]}]"
                )
            if not body.get("index_patterns"):
                return self._error(400, "action_request_validation_exception", "index patterns are missing")
            missing = sorted(set(body.get("composed_of", [])) - BUILT_IN_COMPONENTS)
            if missing:
                return self._error(
                    400,
                    "invalid_index_template_exception",
                    f"index_template [{name}] invalid, cause [index template [{name}] specifies component "
                    f"templates {missing} that do not exist]",
                )
            pipeline = body.get("template", {}).get("settings", {}).get("index.default_pipeline")
            if pipeline and pipeline not in self.pipelines:
                # A real cluster accepts this and fails every write later; the stand-in is stricter.
                return self._error(400, "illegal_argument_exception", f"pipeline [{pipeline}] does not exist")
            self.templates[name] = body
        else:
            return self._error(400, "illegal_argument_exception", f"no handler for PUT {self.path}")
        self._answer(200, {"acknowledged": True})


@pytest.fixture
def cluster() -> Iterator[tuple[str, type[FakeCluster]]]:
    handler = type(
        "Cluster",
        (FakeCluster,),
        {
            "pipelines": {},
            "templates": {},
            "calls": [],
            "credentials": {"ApiKey k3y", "Basic ZWxhc3RpYzpwdw=="},
        },
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _files(root: Path) -> dict[str, Any]:
    folder = root / "docs" / "elasticsearch"
    return {p.name: json.loads(p.read_text()) for p in folder.glob("*.json")}


def test_apply_puts_the_pipeline_then_the_template_and_is_idempotent(cluster):
    url, state = cluster
    headers = {"Authorization": "ApiKey k3y"}
    first = apply(url, ROOT, headers=headers)
    second = apply(url, ROOT, headers=headers)
    assert (
        [a.path for a in first]
        == [a.path for a in second]
        == [
            "_ingest/pipeline/aip-logs",
            "_index_template/aip-logs",
        ]
    )
    assert [c[1] for c in state.calls] == ["/_ingest/pipeline/aip-logs", "/_index_template/aip-logs"] * 2
    files = _files(ROOT)
    assert state.pipelines == {"aip-logs": files["aip-logs.ingest-pipeline.json"]}
    assert state.templates == {"aip-logs": files["aip-logs.index-template.json"]}


def test_credentials_come_from_the_environment():
    assert auth_headers({"AIP_ELASTICSEARCH_API_KEY": "k3y"}) == {"Authorization": "ApiKey k3y"}
    basic = {"AIP_ELASTICSEARCH_USERNAME": "elastic", "AIP_ELASTICSEARCH_PASSWORD": "pw"}
    assert auth_headers(basic) == {"Authorization": "Basic ZWxhc3RpYzpwdw=="}
    assert auth_headers({}) == {}
    with pytest.raises(TemplateError, match="AIP_ELASTICSEARCH_PASSWORD is not set"):
        auth_headers({"AIP_ELASTICSEARCH_USERNAME": "elastic"})


def test_a_refused_template_stops_with_the_clusters_reason(cluster, tmp_path: Path):
    url, state = cluster
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "docs" / "elasticsearch", root / "docs" / "elasticsearch")
    path = root / "docs" / "elasticsearch" / "aip-logs.index-template.json"
    template = json.loads(path.read_text())
    path.write_text(json.dumps({**template, "composed_of": ["ecs@mapings"]}))
    with pytest.raises(TemplateError) as raised:
        apply(url, root, headers={"Authorization": "ApiKey k3y"})
    assert str(raised.value) == (
        "PUT _index_template/aip-logs refused (HTTP 400): invalid_index_template_exception: index_template "
        "[aip-logs] invalid, cause [index template [aip-logs] specifies component templates ['ecs@mapings'] "
        "that do not exist]; applied before it: _ingest/pipeline/aip-logs"
    )
    assert state.templates == {}


def test_the_cli_exits_non_zero_with_the_reason_and_zero_when_applied(cluster):
    url, state = cluster
    refused = run_aip(
        ROOT, "logs", "apply-template", "--url", url, env={"AIP_ELASTICSEARCH_API_KEY": "wrong"}
    )
    assert refused.returncode == 1
    assert (
        "error: PUT _ingest/pipeline/aip-logs refused (HTTP 401): security_exception: missing authentication "
        "credentials for REST request [/_ingest/pipeline/aip-logs]" in refused.stderr
    )
    assert "Traceback" not in refused.stderr
    ok = run_aip(
        ROOT, "logs", "apply-template", env={"AIP_ELASTICSEARCH_API_KEY": "k3y", "AIP_ELASTICSEARCH_URL": url}
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == [
        "applied _ingest/pipeline/aip-logs from docs/elasticsearch/aip-logs.ingest-pipeline.json",
        "applied _index_template/aip-logs from docs/elasticsearch/aip-logs.index-template.json",
    ]
    assert state.calls[-1][2] == "ApiKey k3y"


def test_no_url_is_a_usage_error_and_nothing_listening_is_unreachable(tmp_path: Path):
    env = {"AIP_ELASTICSEARCH_URL": ""}
    missing = run_aip(ROOT, "logs", "apply-template", env=env)
    assert missing.returncode == 2 and "pass --url or set AIP_ELASTICSEARCH_URL" in missing.stderr
    from tests.support.ports import free_port

    with pytest.raises(TemplateError, match="Elasticsearch unreachable"):
        apply(f"http://127.0.0.1:{free_port()}", ROOT, headers={}, timeout=2)
    with pytest.raises(TemplateError, match="expected an http"):
        apply("es.example.org:9200", ROOT, headers={})
