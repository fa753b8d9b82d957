"""Where a study lives: the resolution order, the password from the environment, and a dead storage
failing fast with its URL masked."""

from __future__ import annotations

import time

import pytest

from pipelines.cli.main import main
from pipelines.repo.layout import Repo
from pipelines.tune import StudyStorageUnavailable, mask, open_storage, storage_url
from tests.support.ports import free_port
from tests.support.repo import REPO_ROOT


def test_the_local_default_is_a_sqlite_file_under_the_repo_state_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIP_STUDY_STORAGE", raising=False)
    assert storage_url(Repo(REPO_ROOT), "local") == f"sqlite:///{REPO_ROOT}/.aip/optuna.db"


def test_the_option_beats_the_variable_which_beats_platform_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repo(REPO_ROOT)
    monkeypatch.setenv("AIP_STUDY_STORAGE", "sqlite:////tmp/from-env.db")
    assert storage_url(repo, "local") == "sqlite:////tmp/from-env.db"
    assert storage_url(repo, "local", "sqlite:////tmp/from-flag.db") == "sqlite:////tmp/from-flag.db"


def test_the_password_comes_from_the_environment_and_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIP_STUDY_STORAGE", raising=False)
    monkeypatch.setenv("AIP_STUDY_STORAGE_PASSWORD", "s3cret")
    url = storage_url(Repo(REPO_ROOT), "dev")
    assert url.startswith("postgresql+psycopg://optuna:s3cret@") and url.endswith("/optuna?sslmode=require")
    assert "s3cret" not in mask(url) and "optuna:***@" in mask(url)


def test_an_environment_that_never_trains_has_no_study_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIP_STUDY_STORAGE", raising=False)
    with pytest.raises(StudyStorageUnavailable, match=r"environments\.prod does not train"):
        storage_url(Repo(REPO_ROOT), "prod")
    assert storage_url(Repo(REPO_ROOT), "prod", "sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_a_storage_that_is_down_fails_fast_naming_it_masked() -> None:
    url = f"postgresql+psycopg://aip:hunter2@127.0.0.1:{free_port()}/aip"
    started = time.monotonic()
    with pytest.raises(StudyStorageUnavailable) as caught:
        open_storage(url)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert f"aip:***@127.0.0.1:{url.rsplit(':', 1)[1]}" in message and "hunter2" not in message
    assert "AIP_STUDY_STORAGE" in message


def test_aip_tune_exits_1_with_the_masked_url_when_the_storage_is_down(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIP_REPO", str(REPO_ROOT))  # read only: the storage fails before anything is written
    url = f"postgresql+psycopg://aip:hunter2@127.0.0.1:{free_port()}/aip"
    assert main(["tune", "tumor-classifier", "--trials", "1", "--storage", url]) == 1
    err = capsys.readouterr().err
    assert "is unreachable" in err and "aip:***@127.0.0.1" in err and "hunter2" not in err
