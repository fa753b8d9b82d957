"""ECS JSON logs: one object per line with service, environment, request id, model and version;
never payloads or secrets by default."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from pipelines.observability import logs


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure("aip-serve", env="staging", stream=stream, level="DEBUG")
    yield stream
    logger = logging.getLogger(logs.ROOT_LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_lines_are_ecs_json_with_service_request_model_and_version(captured: io.StringIO):
    log = logs.get_logger("serving.server")
    with logs.context(request_id="req-42", model="tumor-classifier", version="3", label="canary"):
        log.info("predicted", extra={"http.response.status_code": 200, "event.duration": 4_200_000})
    log.warning("outside any request")
    first, second = lines(captured)
    assert first["ecs.version"] and first["@timestamp"].endswith("Z") and first["log.level"] == "info"
    assert first["message"] == "predicted"
    assert first["service"] == {"name": "aip-serve", "environment": "staging"}
    assert first["http"] == {"request": {"id": "req-42"}, "response": {"status_code": 200}}
    assert first["labels"] == {"model": "tumor-classifier", "model_version": "3", "model_label": "canary"}
    assert first["log"]["logger"] == "pipelines.serving.server"
    assert "labels" not in second and "http" not in second  # the context ended with the request


def test_payloads_and_secrets_never_reach_a_line(captured: io.StringIO):
    log = logs.get_logger("serving")
    log.info(
        "request with Authorization: Bearer abc.def-123 and password=hunter2 to https://u:pw@host/x",
        extra={
            "instances": [{"mean radius": 14.1}],
            "request.body": "{...}",
            "api_key": "k-1",
            "labels.text": "hi",
        },
    )
    text = captured.getvalue()
    for secret in ("abc.def-123", "hunter2", "pw@", "mean radius", "{...}", "k-1", '"hi"'):
        assert secret not in text
    assert "Authorization: [REDACTED]" in text and "password=[REDACTED]" in text


def test_payloads_can_be_allowed_explicitly_but_secrets_cannot():
    stream = io.StringIO()
    logs.configure("aip-serve", stream=stream, allow_payloads=True, logger="pipelines.debugging")
    try:
        logs.get_logger("debugging").info("debug", extra={"instances": [1, 2], "token": "t-1"})
    finally:
        logging.getLogger("pipelines.debugging").handlers.clear()
    line = json.loads(stream.getvalue())
    assert line["instances"] == [1, 2] and "token" not in line


def test_unknown_context_fields_are_refused():
    with pytest.raises(ValueError, match="unknown log context field"), logs.context(user="alice"):
        pass


def test_flat_fields_of_other_modules_become_ecs_fields():
    stream = io.StringIO()
    logger = logging.getLogger("aip.serving.test")
    logger.addHandler(logs.ecs_handler("aip-serve", "prod", stream=stream))
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        fields = {
            "request_id": "r1",
            "model": "m",
            "version": "2",
            "status": 503,
            "latency_ms": 1.5,
            "api": "rest",
        }
        logger.info("request", extra={"fields": fields})
    finally:
        logger.handlers.clear()
    line = json.loads(stream.getvalue())
    assert line["http"] == {"request": {"id": "r1"}, "response": {"status_code": 503}}
    assert line["labels"] == {"model": "m", "model_version": "2", "api": "rest"}
    assert line["event"]["duration"] == 1_500_000 and line["service"]["environment"] == "prod"


def test_cli_progress_is_plain_text_by_default_and_ecs_json_when_asked(monkeypatch, capsys):
    import json
    import logging

    from pipelines.observability import logs

    monkeypatch.delenv(logs.FORMAT_ENV, raising=False)
    logs.start_progress("aip-run", "local")
    logs.progress("==> validate")
    assert capsys.readouterr().err == "==> validate\n"

    monkeypatch.setenv(logs.FORMAT_ENV, "ecs")
    logs.start_progress("aip-run", "staging")
    try:
        logs.progress("==> tumor-classifier: train (new fingerprint)")
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert line["message"] == "==> tumor-classifier: train (new fingerprint)"
        assert line["service"] == {"name": "aip-run", "environment": "staging"}
    finally:
        monkeypatch.delenv(logs.FORMAT_ENV)
        logs.start_progress("aip-run")
        root = logging.getLogger(logs.ROOT_LOGGER)
        for handler in [h for h in root.handlers if getattr(h, "_aip_ecs", False)]:
            root.removeHandler(handler)
