"""A stand-in for Grafana's dashboard API on 127.0.0.1 (no Grafana server installs here).

It answers `POST /api/dashboards/db` as Grafana does and records what it received, so tests check what
`aip ci grafana-publish` (directly or inside dashboards.yml under act) sent, and with which token.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class GrafanaStandIn:
    url: str
    received: list[tuple[str, Any, str]] = field(default_factory=list)  # (path, JSON body, Authorization)


@contextmanager
def grafana_stand_in() -> Iterator[GrafanaStandIn]:
    stand_in = GrafanaStandIn(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            stand_in.received.append((self.path, body, self.headers["Authorization"]))
            payload = json.dumps({"status": "success", "url": "/d/abc/x"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            return

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
