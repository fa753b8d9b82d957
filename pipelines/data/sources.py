"""Sources that change: a SQL table or an HTTP JSON API, read by a dataset's own `ingest.py`.

The datasets shipped with the template read files that never change (a package's corpus, sklearn's
table). A fork's data usually lives in a database or behind an API that grows every day; scheduled
ingestion (`aip data refresh`, .github/workflows/ingest.yml) then notices new rows and opens a data
pull request (docs/continuous-training.md). An `ingest.py` reads such a source in two lines:

    from pipelines.data.sources import read_source, source_url

    def ingest(source: str = "sqlite:///sample.db", table: str = "tickets") -> pd.DataFrame:
        frame = read_source(source_url("support-tickets", source), table=table, base=HERE)
        return frame.sort_values(["label", "text"], kind="mergesort").reset_index(drop=True)

`source_url` picks the URL: `$AIP_SOURCE_<DATASET>` (upper case, `-` → `_`), else the dataset's entry
in `$AIP_DATA_SOURCES` (a JSON object {dataset: url}: one secret for every dataset), else the default
from dataset.yaml's `ingest:`, so the same dataset reads a small committed file on a laptop and the live
database in the scheduled workflow. URLs:

- `sqlite:///relative/path.db` (relative to `base`, the dataset folder), `sqlite:////abs/path.db`:
  the standard library's sqlite3, opened read-only (a missing file is an error, never a new empty db);
- any other SQLAlchemy URL (`postgresql+psycopg://user:pass@host/db`): SQLAlchemy, which is installed;
  the database's driver (psycopg, pymysql) is the fork's to add to requirements;
- `http://` / `https://`: GET through pipelines/http.py, the answer a JSON list of objects or an object
  holding one (`records_key`, default: the first of rows/items/records/data that is a list); a bearer
  token from the variable `token_env` names (default `AIP_SOURCE_TOKEN`) when set;
- a path or `file://` URL of a `.csv`, `.json` or `.jsonl` file (relative to `base`).

Errors are SourceError (a DataError): the URL (password hidden), the table, and what was expected.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.data.errors import DataError
from pipelines.http import HttpError, Unreachable, request_json

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SOURCES_ENV", "SourceError", "read_source", "redact", "source_env_name", "source_url"]

SOURCES_ENV = "AIP_DATA_SOURCES"
"""A JSON object {dataset: url}: the live sources of every dataset, one secret in CI."""
TOKEN_ENV = "AIP_SOURCE_TOKEN"
"""Default variable holding the bearer token of an HTTP source."""
HTTP_TIMEOUT_S = 60.0
_RECORD_KEYS = ("rows", "items", "records", "data")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


class SourceError(DataError):
    """A dataset's source cannot be read, or returned something that is not a table."""


def source_env_name(dataset: str) -> str:
    """`AIP_SOURCE_<DATASET>`: the variable that overrides one dataset's source URL."""
    return "AIP_SOURCE_" + re.sub(r"[^A-Za-z0-9]", "_", dataset).upper()


def source_url(dataset: str, default: str) -> str:
    """The URL `dataset` reads: `$AIP_SOURCE_<DATASET>`, else `$AIP_DATA_SOURCES[dataset]`, else `default`."""
    own = os.environ.get(source_env_name(dataset), "").strip()
    if own:
        return own
    shared = os.environ.get(SOURCES_ENV, "").strip()
    if shared:
        try:
            mapping = json.loads(shared)
        except json.JSONDecodeError as exc:
            raise SourceError(
                f"${SOURCES_ENV} is not JSON ({exc.msg} at character {exc.pos}); expected an object "
                '{"<dataset>": "<url>", ...}'
            ) from None
        if not isinstance(mapping, dict):
            raise SourceError(f'${SOURCES_ENV} must be a JSON object {{"<dataset>": "<url>"}}, got a list')
        if mapping.get(dataset):
            return str(mapping[dataset])
    return default


def redact(url: str) -> str:
    """The URL without its password (`postgresql://user:***@host/db`), for messages and PR bodies."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def read_source(
    url: str,
    *,
    table: str | None = None,
    query: str | None = None,
    columns: Sequence[str] | None = None,
    records_key: str | None = None,
    base: Path | str | None = None,
    token_env: str = TOKEN_ENV,
    timeout: float = HTTP_TIMEOUT_S,
) -> pd.DataFrame:
    """Read one table from `url` (see the module docstring); `columns` keeps (and orders) those columns.

    SQL sources take `table` (every row of it) or `query` (a SELECT). Rows come back in the source's
    order: sort them in ingest.py so the CSV, hence its md5, is byte-stable.
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        frame = _read_sqlite(url, table, query, base)
    elif scheme in ("http", "https"):
        frame = _read_http(url, records_key, token_env, timeout)
    elif scheme in ("", "file") or len(scheme) == 1:  # a path (C:\ on Windows has a one-letter scheme)
        frame = _read_file(url, base)
    else:
        frame = _read_sqlalchemy(url, table, query)
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise SourceError(f"source {redact(url)}: no column(s) {missing}; it has {list(frame.columns)}")
        frame = frame[list(columns)]
    return frame


def _select(url: str, table: str | None, query: str | None) -> str:
    if bool(table) == bool(query):
        raise SourceError(f"source {redact(url)}: give exactly one of table= or query=")
    if query:
        return query
    assert table is not None
    if not _IDENTIFIER.match(table):
        raise SourceError(
            f"source {redact(url)}: table {table!r} is not a plain name ([A-Za-z_][A-Za-z0-9_.]*); "
            "use query= for anything else"
        )
    return f"SELECT * FROM {table}"


def _sqlite_path(url: str, base: Path | str | None) -> Path:
    raw = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
    if not raw:
        raise SourceError(f"source {url}: expected sqlite:///relative.db or sqlite:////absolute.db")
    path = Path(raw)
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    return path


def _read_sqlite(url: str, table: str | None, query: str | None, base: Path | str | None) -> pd.DataFrame:
    import pandas as pd

    sql = _select(url, table, query)
    path = _sqlite_path(url, base)
    if not path.is_file():
        raise SourceError(f"source {url}: database file {path} does not exist")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise SourceError(f"source {url}: cannot open {path}: {exc}") from None
    try:
        cursor = connection.execute(sql)
        names = [d[0] for d in cursor.description or []]
        return pd.DataFrame(cursor.fetchall(), columns=names)
    except sqlite3.Error as exc:
        raise SourceError(f"source {url}: {sql!r} failed: {exc}") from None
    finally:
        connection.close()


def _read_sqlalchemy(url: str, table: str | None, query: str | None) -> pd.DataFrame:
    import pandas as pd

    sql = _select(url, table, query)
    try:
        import sqlalchemy
    except ImportError:
        raise SourceError(
            f"source {redact(url)}: SQL sources other than sqlite need SQLAlchemy and the database's "
            "driver (add them to requirements/)"
        ) from None
    try:
        engine = sqlalchemy.create_engine(url)
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError, ImportError) as exc:
        raise SourceError(
            f"source {redact(url)}: not a URL this platform reads (sqlite:///, a SQLAlchemy database URL "
            f"with its driver installed, http(s)://, a .csv/.json/.jsonl path): {exc}"
        ) from None
    try:
        with engine.connect() as connection:
            result = connection.execute(sqlalchemy.text(sql))
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise SourceError(f"source {redact(url)}: {sql!r} failed: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()


def _read_http(url: str, records_key: str | None, token_env: str, timeout: float) -> pd.DataFrame:
    import pandas as pd

    token = os.environ.get(token_env) or None
    try:
        answer = request_json("GET", url, token=token, timeout=timeout)
    except Unreachable as exc:
        raise SourceError(f"source unreachable: {exc}") from None
    except HttpError as exc:
        raise SourceError(f"source {url} answered HTTP {exc.status}: {exc.message}") from None
    return pd.DataFrame(_records(url, answer, records_key))


def _records(where: str, answer: Any, records_key: str | None) -> list[dict[str, Any]]:
    if isinstance(answer, dict):
        keys = [records_key] if records_key else [k for k in _RECORD_KEYS if isinstance(answer.get(k), list)]
        if not keys or not isinstance(answer.get(keys[0]), list):
            wanted = f"key {records_key!r}" if records_key else f"one of {list(_RECORD_KEYS)}"
            raise SourceError(
                f"source {where}: expected a JSON list of objects or an object whose {wanted} is one; "
                f"got an object with keys {sorted(answer)[:10]}"
            )
        answer = answer[keys[0]]
    if not isinstance(answer, list) or not all(isinstance(row, dict) for row in answer):
        raise SourceError(f"source {where}: expected a JSON list of objects (one per row)")
    return answer


def _read_file(url: str, base: Path | str | None) -> pd.DataFrame:
    import pandas as pd

    path = Path(urllib.parse.urlsplit(url).path if url.startswith("file:") else url)
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    if not path.is_file():
        raise SourceError(f"source {url}: file {path} does not exist")
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".jsonl":
        return pd.DataFrame(
            [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        )
    if path.suffix == ".json":
        return pd.DataFrame(_records(str(path), json.loads(path.read_text(encoding="utf-8")), None))
    raise SourceError(f"source {url}: expected a .csv, .json or .jsonl file")
