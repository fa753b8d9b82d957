"""`aip serve` start-up options, auth, limits, overload and graceful shutdown, each on its own process."""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from ruamel.yaml import YAML

from tests.support.cli import run_aip
from tests.support.ports import free_port
from tests.support.serve import ADMIN_TOKEN, MODEL, start_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ADMIN = f"/v1/admin/models/{MODEL}"


def test_bearer_token_auth_guards_predict_but_not_status(served_repo, tmp_path, tumor_rows):
    server = start_server(
        served_repo, tmp_path, "--auth-token-env", "PREDICT_TOKEN", env={"PREDICT_TOKEN": "s3cret"}
    )
    try:
        denied = server.predict(tumor_rows[:1])
        assert denied.status == 401 and "bearer token" in denied.json()["error"]
        assert server.predict(tumor_rows[:1], headers={"Authorization": "Bearer nope"}).status == 401
        assert server.predict(tumor_rows[:1], headers={"Authorization": "Bearer s3cret"}).status == 200
        assert server.request("GET", f"/v1/models/{MODEL}").status == 200  # probes need no token
    finally:
        assert server.stop() == 0
    assert "s3cret" not in server.log.read_text()


def test_body_limit_answers_413_and_the_admin_api_is_off_without_its_token(served_repo, tmp_path, tumor_rows):
    server = start_server(
        served_repo, tmp_path, "--max-body-bytes", "2000", "--admin-token-env", "NO_SUCH_TOKEN_VAR"
    )
    try:
        too_large = server.predict(tumor_rows[:5])
        assert too_large.status == 413 and "2000 bytes" in too_large.json()["error"]
        assert server.predict(tumor_rows[:1]).status == 200
        chunked = server.request("POST", f"/v1/models/{MODEL}:predict", raw=b" " * 5000)
        assert chunked.status == 413
        disabled = server.request("GET", ADMIN, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert disabled.status == 403 and "NO_SUCH_TOKEN_VAR" in disabled.json()["error"]
    finally:
        server.stop()


def test_sigterm_drains_in_flight_requests_then_exits_0(served_repo, tmp_path, tumor_rows):
    server = start_server(served_repo, tmp_path, "--enable-fault-injection")
    slow = {"label": "stable", "extra_latency_ms": 1500}
    assert server.request("PUT", f"{ADMIN}/faults", slow, admin=True).status == 200
    answers = []
    client = threading.Thread(target=lambda: answers.append(server.predict(tumor_rows[:1])))
    client.start()
    time.sleep(0.5)  # the request is now in flight
    started = time.monotonic()
    code = server.stop(signal.SIGTERM)
    client.join(10)
    assert code == 0
    assert [a.status for a in answers] == [200]
    assert time.monotonic() - started >= 0.9  # it waited for the request
    events = [line.get("message") for line in server.log_lines()]  # ECS: the event name is the message
    assert "shutdown_started" in events and events[-1] == "shutdown_complete"


def test_a_full_batching_queue_answers_429_and_the_server_keeps_serving(served_repo, tmp_path, tumor_rows):
    # A private copy whose model.yaml allows one queued batch of one row (the registry is shared).
    root = tmp_path / "repo"
    shutil.copytree(served_repo, root, symlinks=True, ignore=shutil.ignore_patterns("mlartifacts"))
    (root / ".aip" / "mlartifacts").symlink_to(served_repo / ".aip" / "mlartifacts")
    yaml = YAML()
    path = root / "models" / MODEL / "model.yaml"
    config = yaml.load(path.read_text())
    config["environments"]["local"] = {
        "serving": {"batching": {"max_batch_size": 1, "max_enqueued_batches": 1, "batch_timeout_micros": 0}}
    }
    with path.open("w") as handle:
        yaml.dump(config, handle)
    server = start_server(root, tmp_path)
    try:
        many = tumor_rows * 25  # 1000 rows per request: each takes a while through the MLP
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda _: server.predict(many), range(36)))
        statuses = [a.status for a in answers]
        assert set(statuses) == {200, 429}, statuses
        refused = next(a for a in answers if a.status == 429)
        assert "queue is full" in refused.json()["error"]
        assert server.predict(tumor_rows[:1]).status == 200
        text = server.request("GET", "/metrics").body.decode()
        assert 'code="429"' in text
    finally:
        server.stop()


def test_fault_injection_is_refused_in_prod(served_repo):
    result = run_aip(served_repo, "serve", "--env", "prod", "--enable-fault-injection", "--grpc-port", "0")
    assert result.returncode == 1
    assert "refused with --env prod" in result.stderr


def test_a_named_model_without_the_alias_is_an_error(served_repo):
    result = run_aip(served_repo, "serve", "--models", "topic-classifier", "--grpc-port", "0")
    assert result.returncode == 1
    assert "topic-classifier has no registry alias 'local'" in result.stderr
    result = run_aip(served_repo, "serve", "--models", "nope", "--grpc-port", "0")
    assert result.returncode == 1 and "unknown model(s) nope" in result.stderr


def test_unnamed_models_without_the_alias_are_skipped_with_a_warning(served_repo):
    port = free_port()
    env = {**os.environ, "AIP_REPO": str(served_repo)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "serve", "--rest-port", str(port), "--grpc-port", "0",
         "--no-prompts"],
        cwd=served_repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith("serving "):
            break
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    text = "".join(lines)
    assert "warning: skipping topic-classifier: no registry alias 'local'" in text
    assert f"serving {MODEL} v1" in text
