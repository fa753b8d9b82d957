"""Where a study lives: resolve the storage URL, add its password, open it or fail fast.

Order: `--storage`, then the AIP_STUDY_STORAGE environment variable, then platform.yaml's
`environments.<env>.study_storage`, then `sqlite:///<state_dir>/optuna.db`. A relative SQLite path is
relative to the repo root (like `tracking_uri`). A Postgres URL in git carries no password: it comes
from AIP_STUDY_STORAGE_PASSWORD. Every URL that reaches a message or a log is masked.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.data.sources import redact as mask  # one password-masking rule for every URL
from pipelines.repo.layout import Repo
from pipelines.tune.errors import StudyStorageUnavailable

if TYPE_CHECKING:
    from optuna.storages import RDBStorage

__all__ = ["PASSWORD_ENV", "STORAGE_ENV", "mask", "open_storage", "storage_url"]

STORAGE_ENV = "AIP_STUDY_STORAGE"  # overrides platform.yaml, like AIP_TRACKING_URI
PASSWORD_ENV = "AIP_STUDY_STORAGE_PASSWORD"  # the database password: a CI secret, never in git
CONNECT_TIMEOUT_S = 5  # a healthy database answers in milliseconds; a dead one must not stall a job
_CREATE_ATTEMPTS = 3  # tries to open a storage whose tables another worker is creating right now
_CREATE_RETRY_S = 1.0  # back-off between them (grows linearly)
SQLITE_BUSY_TIMEOUT_S = 60  # local workers share one SQLite file: wait for its lock, don't fail


def storage_url(repo: Repo, env: str | None = None, override: str | None = None) -> str:
    """The study storage for `env`, with the password from PASSWORD_ENV filled in when it is absent."""
    url = override or os.environ.get(STORAGE_ENV)
    if not url:
        name, settings = repo.environment(env)
        if settings.study_storage is None and not settings.train:
            # staging/prod never train, so they have no study database (infra: study-store is dev's)
            raise StudyStorageUnavailable(
                f"platform.yaml: environments.{name} does not train (train: false) and sets no "
                f"study_storage; tune in a training environment (e.g. --env dev), or pass --storage / "
                f"set {STORAGE_ENV}."
            )
        url = settings.study_storage or f"sqlite:///{repo.platform.state_dir}/optuna.db"
    url = repo.resolve(url)
    password = os.environ.get(PASSWORD_ENV)
    if password and not url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if parsed.username and parsed.password is None:
            url = parsed.set(password=password).render_as_string(hide_password=False)
    return url


def open_storage(url: str) -> RDBStorage:
    """Connect (creating Optuna's tables on first use) within CONNECT_TIMEOUT_S, or raise a clear error."""
    import optuna
    from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError, SQLAlchemyError

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs: dict[str, object] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    elif url.startswith("postgresql"):
        engine_kwargs = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}, "pool_pre_ping": True}
    else:
        engine_kwargs = {"pool_pre_ping": True}
    hint = (
        f"Start it, fix `study_storage` in platform.yaml, or pass --storage / set {STORAGE_ENV} "
        f"(the password comes from {PASSWORD_ENV})."
    )
    for attempt in range(_CREATE_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
        except ArgumentError:
            raise StudyStorageUnavailable(
                f"study storage {mask(url)} is not a database URL. {hint}"
            ) from None
        except (OperationalError, InterfaceError) as exc:
            raise StudyStorageUnavailable(
                f"study storage {mask(url)} is unreachable ({_reason(exc, url)}). {hint}"
            ) from None
        except SQLAlchemyError as exc:
            # Workers that meet an empty database at once race to create Optuna's tables; the loser
            # fails on a duplicate type or table. The tables exist by then: open it again.
            if attempt + 1 == _CREATE_ATTEMPTS:
                raise StudyStorageUnavailable(
                    f"study storage {mask(url)} could not be opened ({_reason(exc, url)}). {hint}"
                ) from None
            time.sleep(_CREATE_RETRY_S * (attempt + 1))
    raise AssertionError("unreachable")  # the loop returns or raises


def _reason(exc: Exception, url: str) -> str:
    """The driver's first line, the password (if any) masked."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip()
    reason = text.splitlines()[0] if text else type(original).__name__
    secret = _password(url)
    return reason.replace(secret, "***") if secret else reason


def _password(url: str) -> str | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password
    except ArgumentError:
        return None
