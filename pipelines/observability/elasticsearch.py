"""Install the platform's log index template and ingest pipeline (docs/elasticsearch/) on a cluster.

    aip logs apply-template --url https://es.<domain>:9200     # or $AIP_ELASTICSEARCH_URL

Two PUTs, in this order because the template's `index.default_pipeline` names the pipeline:
`_ingest/pipeline/aip-logs`, then `_index_template/aip-logs`. Both are Elasticsearch's create-or-replace
APIs, so running it again changes nothing but the stored copies' content (idempotent: CI can run it on
every merge). Credentials come from the environment, never the command line:
`AIP_ELASTICSEARCH_API_KEY` (sent as `Authorization: ApiKey ...`) or `AIP_ELASTICSEARCH_USERNAME` +
`AIP_ELASTICSEARCH_PASSWORD` (basic auth). A refusal stops at the first failing PUT with
Elasticsearch's own `error.type` and `error.reason`.
"""

from __future__ import annotations

import ast
import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.errors import AipError
from pipelines.http import HttpError, Unreachable, request_json

__all__ = ["API_KEY_ENV", "PASSWORD_ENV", "URL_ENV", "USERNAME_ENV", "Applied", "TemplateError", "apply"]

URL_ENV = "AIP_ELASTICSEARCH_URL"
API_KEY_ENV = "AIP_ELASTICSEARCH_API_KEY"
USERNAME_ENV = "AIP_ELASTICSEARCH_USERNAME"
PASSWORD_ENV = "AIP_ELASTICSEARCH_PASSWORD"  # pragma: allowlist secret (a variable name)
FOLDER = Path("docs") / "elasticsearch"
NAME = "aip-logs"  # the pipeline's and the template's name (the template sets it as default_pipeline)
# (API path, file under docs/elasticsearch/), in the order they must be applied.
OBJECTS = (
    (f"_ingest/pipeline/{NAME}", f"{NAME}.ingest-pipeline.json"),
    (f"_index_template/{NAME}", f"{NAME}.index-template.json"),
)


class TemplateError(AipError):
    """The files cannot be read, or the cluster refused or could not be reached."""


@dataclass(frozen=True)
class Applied:
    path: str  # the API path that was PUT
    source: Path  # the file it came from


def auth_headers(env: dict[str, str] | None = None) -> dict[str, str]:
    """The Authorization header from the environment (API key first); {} when none is set."""
    env = dict(os.environ) if env is None else env
    if key := env.get(API_KEY_ENV):
        return {"Authorization": f"ApiKey {key}"}
    user, password = env.get(USERNAME_ENV), env.get(PASSWORD_ENV)
    if user and password:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    if user or password:
        missing = PASSWORD_ENV if user else USERNAME_ENV
        raise TemplateError(f"{USERNAME_ENV} and {PASSWORD_ENV} go together: {missing} is not set")
    return {}


def _body(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{path}: not valid JSON: {exc}") from None


def _reason(message: str) -> str:
    """Elasticsearch's `error` object ({type, reason, root_cause}) as one line; other text unchanged."""
    try:
        error = ast.literal_eval(message)  # pipelines.http hands back str() of the decoded `error`
    except (ValueError, SyntaxError):
        return message
    if isinstance(error, dict) and "reason" in error:
        return f"{error.get('type', 'error')}: {error['reason']}"
    return message


def apply(
    url: str, root: Path, *, headers: dict[str, str] | None = None, timeout: float = 30.0
) -> list[Applied]:
    """PUT the ingest pipeline, then the index template; raise TemplateError on the first refusal."""
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise TemplateError(f"--url {url!r}: expected an http(s):// URL of the Elasticsearch cluster")
    sent = headers if headers is not None else auth_headers()
    done: list[Applied] = []
    for api_path, filename in OBJECTS:
        source = root / FOLDER / filename
        body = _body(source)
        try:
            answer = request_json("PUT", f"{base}/{api_path}", body, headers=sent, timeout=timeout)
        except HttpError as exc:
            raise TemplateError(
                f"PUT {api_path} refused (HTTP {exc.status}): {_reason(exc.message)}"
                + (f"; applied before it: {', '.join(a.path for a in done)}" if done else "")
            ) from None
        except Unreachable as exc:
            raise TemplateError(f"Elasticsearch unreachable: {exc}") from None
        if not (isinstance(answer, dict) and answer.get("acknowledged") is True):
            raise TemplateError(f"PUT {api_path}: the cluster did not acknowledge it: {answer!r}")
        done.append(Applied(api_path, source))
    return done
