"""pipelines/data/sources.py on real sources: SQLite (stdlib and through SQLAlchemy), an HTTP JSON API
served on 127.0.0.1, files; which URL a dataset reads; and clear errors for sources that are wrong."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipelines.data.sources import SourceError, read_source, redact, source_url
from tests.support.ports import free_port

ROWS = [{"text": "printer on fire", "label": "hardware"}, {"text": "forgot password", "label": "account"}]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "tickets.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE tickets (id INTEGER, text TEXT, label TEXT)")
        connection.executemany(
            "INSERT INTO tickets VALUES (?, ?, ?)", [(i, r["text"], r["label"]) for i, r in enumerate(ROWS)]
        )
    return path


@pytest.fixture
def api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An HTTP JSON API on 127.0.0.1: /tickets answers {"rows": [...]}, /bare a list; requests recorded."""
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
            answers = {"/tickets": {"rows": ROWS, "next": None}, "/bare": ROWS, "/odd": {"count": 2}}
            status, body = (200, answers[self.path]) if self.path in answers else (500, {"error": "boom"})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_sqlite_table_relative_to_the_dataset_folder(db: Path):
    frame = read_source("sqlite:///tickets.db", table="tickets", columns=["text", "label"], base=db.parent)
    assert frame.to_dict("records") == ROWS


def test_sqlalchemy_url_and_query(db: Path):
    frame = read_source(f"sqlite+pysqlite:///{db}", query="SELECT text FROM tickets WHERE label = 'account'")
    assert frame["text"].tolist() == ["forgot password"]


def test_http_api_with_a_bearer_token(api, monkeypatch: pytest.MonkeyPatch):
    url, seen = api
    monkeypatch.setenv("AIP_SOURCE_TOKEN", "s3cret")
    assert read_source(f"{url}/tickets", columns=["text", "label"]).to_dict("records") == ROWS
    assert read_source(f"{url}/bare").to_dict("records") == ROWS
    assert seen[0] == {"path": "/tickets", "authorization": "Bearer s3cret"}


def test_http_errors_are_clear(api):
    url, _ = api
    with pytest.raises(SourceError, match=r"answered HTTP 500: boom"):
        read_source(f"{url}/broken")
    with pytest.raises(SourceError, match=r"expected a JSON list of objects or an object whose one of"):
        read_source(f"{url}/odd")
    with pytest.raises(SourceError, match=r"^source unreachable: GET http://127.0.0.1:\d+/x"):
        read_source(f"http://127.0.0.1:{free_port()}/x", timeout=2)


def test_wrong_sources_name_what_is_wrong(db: Path, tmp_path: Path):
    with pytest.raises(SourceError, match=r"database file .*missing.db does not exist"):
        read_source("sqlite:///missing.db", table="tickets", base=tmp_path)
    assert not (tmp_path / "missing.db").exists()  # opened read-only: no empty database left behind
    with pytest.raises(SourceError, match=r"no such table: nope"):
        read_source(f"sqlite:///{db}", table="nope")
    with pytest.raises(SourceError, match=r"give exactly one of table= or query="):
        read_source(f"sqlite:///{db}")
    with pytest.raises(SourceError, match=r"table 'x; DROP TABLE tickets' is not a plain name"):
        read_source(f"sqlite:///{db}", table="x; DROP TABLE tickets")
    with pytest.raises(SourceError, match=r"no column\(s\) \['body'\]; it has \['id', 'text', 'label'\]"):
        read_source(f"sqlite:///{db}", table="tickets", columns=["body"])
    with pytest.raises(SourceError, match=r"user:\*\*\*@db.invalid.*not a URL this platform reads"):
        read_source("nosuchdb://user:pw@db.invalid/x", table="t")


def test_the_environment_picks_the_source(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AIP_SOURCE_SUPPORT_TICKETS", raising=False)
    monkeypatch.delenv("AIP_DATA_SOURCES", raising=False)
    assert source_url("support-tickets", "sqlite:///sample.db") == "sqlite:///sample.db"
    monkeypatch.setenv("AIP_DATA_SOURCES", json.dumps({"support-tickets": "postgresql://u:p@db/t"}))
    assert source_url("support-tickets", "sqlite:///sample.db") == "postgresql://u:p@db/t"
    assert source_url("other", "sqlite:///o.db") == "sqlite:///o.db"
    monkeypatch.setenv("AIP_SOURCE_SUPPORT_TICKETS", "https://api.invalid/tickets")
    assert source_url("support-tickets", "sqlite:///sample.db") == "https://api.invalid/tickets"
    monkeypatch.setenv("AIP_DATA_SOURCES", "{not json")
    monkeypatch.delenv("AIP_SOURCE_SUPPORT_TICKETS")
    with pytest.raises(SourceError, match=r"\$AIP_DATA_SOURCES is not JSON"):
        source_url("support-tickets", "x")
    assert redact("postgresql://u:p@db:5432/t") == "postgresql://u:***@db:5432/t"
