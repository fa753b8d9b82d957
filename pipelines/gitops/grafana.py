"""`aip ci grafana-publish DIR`: upload rendered dashboards to Grafana's HTTP API.

Every `*.json` under DIR goes to `POST $GRAFANA_URL/api/dashboards/db` with `overwrite: true`
(optionally into the folder GRAFANA_FOLDER_UID), authenticated by the service-account token
GRAFANA_TOKEN. Both come from the GitHub environment's secrets; without them the step is skipped
with a notice (a fork without Grafana), never failed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipelines.gitops import GuardError
from pipelines.gitops.actions import annotate
from pipelines.http import HttpError, Unreachable, request_json

__all__ = ["publish"]

TIMEOUT_S = 30  # one dashboard upload


def publish(folder: Path) -> list[str]:
    url, token = os.environ.get("GRAFANA_URL", "").rstrip("/"), os.environ.get("GRAFANA_TOKEN", "")
    if not (url and token):
        annotate(
            "notice", "Grafana not configured (GRAFANA_URL, GRAFANA_TOKEN secrets): dashboards not published"
        )
        return []
    files = sorted(folder.rglob("*.json")) if folder.is_dir() else []
    if not files:
        annotate(
            "notice",
            f"no rendered dashboards in {folder} (rendered by `aip dashboards build`): nothing published",
        )
        return []
    published = []
    for path in files:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        body: dict[str, object] = {
            "dashboard": dashboard | {"id": None},
            "overwrite": True,
            "message": f"aip ci grafana-publish {os.environ.get('GITHUB_SHA', '')}".strip(),
        }
        if folder_uid := os.environ.get("GRAFANA_FOLDER_UID"):
            body["folderUid"] = folder_uid
        try:
            answer = request_json("POST", f"{url}/api/dashboards/db", body, token=token, timeout=TIMEOUT_S)
        except (HttpError, Unreachable) as exc:  # the message names the URL and Grafana's answer
            raise GuardError(f"{path}: {exc}") from None
        answer = answer or {}
        published.append(f"{path.name} -> {answer.get('url', answer.get('uid', '?'))}")
        print(f"published {published[-1]}", flush=True)
    return published
