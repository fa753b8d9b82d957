"""The continuous-training loop on real components: a SQLite table that grows feeds a repo copy's dataset
(tests/loop/fixtures: machine-readings, read by fault-classifier); `aip data refresh` versions new rows
with DVC and Great Expectations; `aip ci data-pr` / `aip ci retrain-pr` open pull requests and issues
against the recorded GitHub API on 127.0.0.1 (GitHub itself is unreachable from the test machine);
`aip drift` on shifted samples writes the report the retraining PR quotes."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from tests.support.cli import run_aip
from tests.support.git import git
from tests.support.github_api import RecordedGitHub
from tests.support.ports import free_port
from tests.support.repo import copy_state, make_repo_copy

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures"
DATASET, MODEL = "machine-readings", "fault-classifier"
LOCK = Path("datasets") / DATASET / "dvc.lock"
SOURCE_ENV = "AIP_SOURCE_MACHINE_READINGS"
SLUG = "acme/ml"
INITIAL_ROWS = 120


def reading(i: int) -> tuple[float, float, str]:
    """A deterministic reading: hot machines are faulty."""
    temperature = 20.0 + (i * 7) % 50
    return temperature, round(1.0 + (i % 10) / 10, 1), "fault" if temperature > 55 else "ok"


def insert(db: Path, rows: list[tuple[float, float, str]]) -> None:
    with sqlite3.connect(db) as connection:
        connection.executemany("INSERT INTO readings VALUES (?, ?, ?)", rows)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(repo copy with the dataset prepared, locked and committed, the SQLite source it read)."""
    tmp = tmp_path_factory.mktemp("loop")
    root = make_repo_copy(tmp / "repo")
    shutil.copytree(FIXTURES / DATASET, root / "datasets" / DATASET)
    shutil.copytree(FIXTURES / MODEL, root / "models" / MODEL)
    db = tmp / "readings.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE readings (temperature REAL, pressure REAL, label TEXT)")
    insert(db, [reading(i) for i in range(INITIAL_ROWS)])
    prepared = run_aip(root, "data", "prepare", DATASET, env={SOURCE_ENV: f"sqlite:///{db}"})
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    git(root, "add", "-A")
    git(root, "commit", "-qm", "machine-readings v1")
    return root, db


@pytest.fixture
def loop(base: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the base repo and of its source database."""
    root = copy_state(base[0], tmp_path / "repo")
    db = tmp_path / "readings.db"
    shutil.copy2(base[1], db)
    return root, db


def aip(root: Path, db: Path | str, *args: str, github: RecordedGitHub | None = None):
    env = {
        SOURCE_ENV: db if isinstance(db, str) else f"sqlite:///{db}",
        "GITHUB_TOKEN": "",
        "GITHUB_REPOSITORY": "",
    }
    if github is not None:
        env.update(GITHUB_TOKEN="t0ken", GITHUB_REPOSITORY=SLUG, GITHUB_API_URL=github.url)
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_ACTIONS"):
        os.environ.pop(name, None)
    return run_aip(root, *args, env=env)


def recorded_github() -> RecordedGitHub:
    gh = RecordedGitHub(token="t0ken")
    gh.route(
        "GET", rf"/repos/{SLUG}/git/ref/heads/main", {"ref": "refs/heads/main", "object": {"sha": "a" * 40}}
    )
    gh.route(
        "POST",
        rf"/repos/{SLUG}/git/refs",
        lambda req: (201, {"ref": req.body["ref"], "object": {"sha": "a" * 40}}),
    )
    gh.route(
        "PUT", rf"/repos/{SLUG}/contents/.+", lambda req: (201, {"content": {}, "commit": {"sha": "b" * 40}})
    )
    gh.route("GET", rf"/repos/{SLUG}/pulls", [])
    gh.route(
        "POST", rf"/repos/{SLUG}/pulls", {"number": 12, "html_url": f"https://github.com/{SLUG}/pull/12"}, 201
    )
    gh.route("POST", rf"/repos/{SLUG}/issues/12/labels", [{"name": "x"}])
    gh.route("GET", rf"/repos/{SLUG}/issues", [])
    gh.route(
        "POST",
        rf"/repos/{SLUG}/issues",
        {"number": 13, "html_url": f"https://github.com/{SLUG}/issues/13"},
        201,
    )
    return gh


def test_unchanged_source_is_up_to_date(loop):
    root, db = loop
    before = (root / LOCK).read_bytes()
    result = aip(root, db, "data", "refresh", DATASET)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{DATASET}: up to date ({INITIAL_ROWS} rows" in result.stdout
    assert (root / LOCK).read_bytes() == before
    assert "up to date" in aip(root, db, "ci", "data-pr", DATASET).stdout  # nothing to propose


def test_new_rows_change_the_lock_and_open_a_data_pr(loop):
    root, db = loop
    before = (root / LOCK).read_text()
    insert(db, [(30.5, 1.05, "ok"), (99.5, 2.25, "fault"), (31.5, 1.15, "ok")])
    result = aip(root, db, "data", "refresh", DATASET)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"rows {INITIAL_ROWS} -> {INITIAL_ROWS + 3} (+3 added, -0 removed)" in result.stdout
    assert "data validation passed" in result.stdout and "pushed to aip-local" in result.stdout
    after = (root / LOCK).read_text()
    assert after != before
    record = json.loads((root / ".aip" / "refresh" / f"{DATASET}.json").read_text())
    # the new version is in the DVC remote: a fresh checkout of the lock can pull it
    raw_md5 = record["raw_md5_after"]
    assert (root / ".aip" / "dvc-remote" / "files" / "md5" / raw_md5[:2] / raw_md5[2:]).is_file()
    assert record["raw_md5_after"] in after and record["raw_md5_before"] in before
    status = subprocess.run(
        [sys.executable, "-m", "dvc", "status", f"datasets/{DATASET}/dvc.yaml"],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "Data and pipelines are up to date" in status.stdout, status.stdout + status.stderr

    with recorded_github() as gh:
        pr = aip(root, db, "ci", "data-pr", DATASET, github=gh)
        assert pr.returncode == 0, pr.stdout + pr.stderr
        short = record["version_after"][:8]
        branch = f"data/{DATASET}-{short}"
        assert "opened pull request #12" in pr.stdout
        (create,) = gh.calls("POST", rf"/repos/{SLUG}/git/refs")
        assert create.body == {"ref": f"refs/heads/{branch}", "sha": "a" * 40}
        (put,) = gh.calls("PUT", rf"/repos/{SLUG}/contents/{LOCK}")
        assert put.body["branch"] == branch
        assert base64.b64decode(put.body["content"]).decode() == after
        (opened,) = gh.calls("POST", rf"/repos/{SLUG}/pulls")
        assert opened.body["head"] == branch and opened.body["base"] == "main"
        body = opened.body["body"]
        assert f"| rows | {INITIAL_ROWS} | {INITIAL_ROWS + 3} |" in body
        assert "**3 row(s) added, 0 removed**" in body
        assert "| 99.5 | 2.25 | fault |" in body  # the new rows, named
        assert f"**Retrains on merge**: `{MODEL}`" in body
        assert "data validation passed" in body
        assert gh.calls("POST", rf"/repos/{SLUG}/issues/12/labels")[0].body == {"labels": ["data"]}

        # the drift loop took this data version's PR over: a later data-pr keeps its title and body
        retraining = {"number": 12, "html_url": "u", "labels": [{"name": "retraining"}]}
        gh.route("GET", rf"/repos/{SLUG}/pulls", [retraining])
        again = aip(root, db, "ci", "data-pr", DATASET, github=gh)
        assert again.returncode == 0 and "updated pull request #12" in again.stdout, (
            again.stdout + again.stderr
        )
        assert len(gh.calls("POST", rf"/repos/{SLUG}/pulls")) == 1 and not gh.calls("PATCH")
        assert len(gh.calls("PUT", rf"/repos/{SLUG}/contents/{LOCK}")) == 2


def test_unreachable_source_is_a_clear_error_and_leaves_the_lock(loop):
    root, _ = loop
    before = (root / LOCK).read_bytes()
    url = f"http://127.0.0.1:{free_port()}/readings"
    result = aip(root, url, "data", "refresh", DATASET)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error: source unreachable: GET " + url in result.stderr
    assert (root / LOCK).read_bytes() == before


def test_rows_breaking_the_expectations_fail_and_leave_the_lock(loop):
    root, db = loop
    before = (root / LOCK).read_bytes()
    raw = root / "datasets" / DATASET / "data" / "raw.csv"
    raw_before = raw.read_bytes()
    insert(db, [(999.0, 1.0, "ok"), (40.0, 1.0, "exploded")])
    result = aip(root, db, "data", "refresh", DATASET)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "data validation FAILED: machine-readings: 2 of 5 expectations failed" in result.stderr
    assert "sensor fault: temperatures outside what the sensors can measure" in result.stderr
    assert "dvc.lock untouched" in result.stderr
    assert (root / LOCK).read_bytes() == before
    assert raw.read_bytes() == raw_before  # the locked version is back in the work tree


@pytest.fixture(scope="module")
def drift_report(base: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`aip drift` on samples 40 degrees hotter than the training data: exit 3 and its report.json."""
    root = base[0]
    train = pd.read_csv(root / "datasets" / DATASET / "data" / "splits" / "train.csv")
    now = time.time()
    records = [
        {
            "ts": now - 60 * i,
            "request_id": str(uuid.uuid4()),
            "index": 0,
            "model": MODEL,
            "version": "1",
            "label": "stable",
            "inputs": {"temperature": float(row.temperature) + 40.0, "pressure": float(row.pressure)},
            "prediction": "fault",
            "probabilities": None,
        }
        for i, row in enumerate(train.itertuples())
    ]
    from pipelines.monitoring.sink import SampleSink

    sink = tmp_path_factory.mktemp("sink")
    SampleSink(str(sink)).write(records)
    out = tmp_path_factory.mktemp("reports") / "local" / MODEL / "drift"  # drift.yml's artifact layout
    result = run_aip(
        root, "drift", MODEL, "--sink", str(sink), "--reference-predictions", "labels", "--out", str(out),
        "--no-push",
    )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    return out


def test_drift_with_new_data_opens_a_retraining_pr(loop, drift_report: Path):
    root, db = loop
    insert(db, [(35.5, 1.35, "ok"), (88.5, 2.05, "fault")])
    with recorded_github() as gh:
        result = aip(
            root,
            db,
            "ci",
            "retrain-pr",
            "--drift-report",
            str(drift_report.parents[1]),
            "--data-env",
            "local",
            github=gh,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "opened pull request #12" in result.stdout
        (opened,) = gh.calls("POST", rf"/repos/{SLUG}/pulls")
        assert opened.body["head"].startswith(f"data/{DATASET}-")
        assert opened.body["title"].startswith(f"retrain {MODEL}: drift in local, new {DATASET} data ")
        body = opened.body["body"]
        assert "Verdict **drift**" in body and "| temperature |" in body  # the drift report's summary
        assert "**2 row(s) added, 0 removed**" in body and "| 88.5 | 2.05 | fault |" in body
        assert gh.calls("POST", rf"/repos/{SLUG}/issues/12/labels")[0].body == {"labels": ["retraining"]}
        (put,) = gh.calls("PUT", rf"/repos/{SLUG}/contents/{LOCK}")
        assert base64.b64decode(put.body["content"]) == (root / LOCK).read_bytes()
    written = (root / ".aip" / "reports" / "local" / MODEL / "retrain.md").read_text()
    assert written.split("\n", 2)[2].strip() == body.strip()


def test_drift_without_new_data_writes_then_opens_an_issue(loop, drift_report: Path):
    root, db = loop
    before = (root / LOCK).read_bytes()
    offline = aip(
        root,
        db,
        "ci",
        "retrain-pr",
        MODEL,
        "--drift-report",
        str(drift_report / "report.json"),
        "--data-env",
        "local",
    )
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert "issue not opened: no GITHUB_TOKEN and GITHUB_REPOSITORY" in offline.stdout
    written = (root / ".aip" / "reports" / "local" / MODEL / "retrain.md").read_text()
    assert f"# drift in {MODEL} (local): no newer data to retrain on" in written
    assert "**no newer data**" in written and "Verdict **drift**" in written
    with recorded_github() as gh:
        result = aip(
            root,
            db,
            "ci",
            "retrain-pr",
            MODEL,
            "--drift-report",
            str(drift_report),
            "--data-env",
            "local",
            github=gh,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "opened issue #13" in result.stdout
        (issue,) = gh.calls("POST", rf"/repos/{SLUG}/issues")
        assert issue.body["labels"] == ["retraining"] and "no newer data" in issue.body["body"]
        assert not gh.calls("POST", rf"/repos/{SLUG}/pulls")
    assert (root / LOCK).read_bytes() == before
