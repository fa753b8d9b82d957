"""A real Prometheus (Debian's `prometheus` package) on 127.0.0.1 scraping a real `aip serve`, with the
platform's rule files loaded; the canary analysis reads its windows through the Prometheus HTTP API
(`PrometheusSource`, the production path) and catches a faulty canary; the server samples requests
into the drift sink.

Needs the `prometheus` binary: the test fails (never skips) without it, naming the apt package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.observability.catalogue import known_series
from tests.support.cli import AIP, run_aip
from tests.support.git import git
from tests.support.ports import free_port
from tests.support.registry import TrainedRegistry, mlflow_client, private_copy, tracking_uri
from tests.support.repo import REPO_ROOT
from tests.support.server import stop, wait_until_ready

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL = "tumor-classifier"
TOKEN = "integration-admin-token"


def http(method: str, url: str, body: Any = None, token: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, "error": exc.read().decode()}
    return json.loads(text) if text else {}


@pytest.fixture(scope="module")
def trained(trained_registry: TrainedRegistry, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the session's trained registry with tumor-classifier registered twice (v1
    @local, v2 the same artifact) and every request sampled (monitoring changes no fingerprint)."""
    root = private_copy(
        trained_registry.checked_root(), tmp_path_factory.mktemp("prom") / "repo", keep=[MODEL]
    )
    model_yaml = root / "models" / MODEL / "model.yaml"
    model_yaml.write_text(model_yaml.read_text() + "monitoring:\n  sample_rate: 1.0\n")
    git(root, "commit", "-qam", "integration")

    client = mlflow_client(root)
    v1 = client.get_model_version_by_alias(MODEL, "local")
    with tracking_uri(root):  # MLflow resolves a `models:/m-...` source through the global client
        v2 = client.create_model_version(MODEL, v1.source, run_id=v1.run_id, tags=dict(v1.tags))
    assert str(v2.version) == str(int(v1.version) + 1)
    return root


@pytest.fixture(scope="module")
def stack(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail(
            "prometheus not found on PATH: install Debian's package with `apt-get install -y prometheus`"
        )
    work = tmp_path_factory.mktemp("prometheus")
    rest, prom_port = free_port(), free_port()
    env = {
        **os.environ,
        "AIP_REPO": str(trained),
        "AIP_ADMIN_TOKEN": TOKEN,
        "AIP_SAMPLE_SINK": str(work / "sink"),
    }
    serve_log, prom_log = (work / "serve.log").open("w"), (work / "prometheus.log").open("w")
    server = subprocess.Popen(
        [*AIP, "serve", "--env", "local", "--models", MODEL, "--rest-port", str(rest), "--grpc-port", "0",
         "--enable-fault-injection"],
        cwd=trained, env=env, stdout=serve_log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    rules = sorted(str(p) for p in (REPO_ROOT / "dashboards" / "alerts").glob("*.rules.yml"))
    config = {
        # Short windows need dense scrapes: increase() extrapolates by up to one interval per window.
        "global": {"scrape_interval": "500ms", "evaluation_interval": "1s"},
        "rule_files": rules,
        "scrape_configs": [
            {
                "job_name": "aip-serve",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"127.0.0.1:{rest}"]}],
            }
        ],
    }
    (work / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    prom = subprocess.Popen(
        [prometheus, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
         f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
        stdout=prom_log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_until_ready(f"http://127.0.0.1:{rest}/readyz", server, 180, interval_s=0.5)
        wait_until_ready(f"http://127.0.0.1:{prom_port}/-/ready", prom, 60, interval_s=0.5)
        yield {"rest": f"http://127.0.0.1:{rest}", "prom": f"http://127.0.0.1:{prom_port}", "work": work}
    finally:
        stop(server)
        stop(prom)
        serve_log.close()
        prom_log.close()
        print(
            (work / "serve.log").read_text()[-2000:],
            (work / "prometheus.log").read_text()[-2000:],
            file=sys.stderr,
        )


def query(prom: str, promql: str) -> list[dict[str, Any]]:
    body = http("GET", f"{prom}/api/v1/query?{urllib.parse.urlencode({'query': promql})}")
    assert body.get("status") == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def predict(rest: str, rows: list[dict[str, float]]) -> None:
    for row in rows:
        http("POST", f"{rest}/v1/models/{MODEL}:predict", {"instances": [row]})


def wait_scrapes(prom: str, n: int = 3) -> None:
    """Let Prometheus scrape a few times after the last request (scrape interval 0.5 s)."""
    time.sleep(n)
    assert query(prom, 'up{job="aip-serve"} == 1'), "the server is not being scraped"


def split_requests(trained: Path) -> tuple[pd.DataFrame, list[dict[str, float]]]:
    """The tumour test split and its rows as request instances: the model's inputs only (the split also
    holds the feature store's entity key and event timestamp)."""
    from pipelines.repo.layout import Repo

    inputs = Repo(trained).dataset("breast-cancer").feature_columns or []
    test = pd.read_csv(trained / "datasets" / "breast-cancer" / "data" / "splits" / "test.csv")
    return test, [{k: float(r[k]) for k in inputs} for r in test.to_dict("records")]


def test_canary_analysis_through_prometheus_catches_a_faulty_canary(stack: dict[str, Any], trained: Path):
    from pipelines.config.model import Analysis
    from pipelines.deploy.analysis import analyse
    from pipelines.deploy.metrics import LocalSamplesSource, PrometheusSource

    rest, prom = stack["rest"], stack["prom"]
    state = http("POST", f"{rest}/v1/admin/models/{MODEL}/canary", {"version": "2"}, TOKEN)
    assert state.get("canary", {}).get("version") == "2", state
    http("PUT", f"{rest}/v1/admin/models/{MODEL}/traffic", {"canary_weight": 0.5}, TOKEN)
    faults = http(
        "PUT", f"{rest}/v1/admin/models/{MODEL}/faults", {"label": "canary", "error_rate": 0.3}, TOKEN
    )
    assert faults["faults"]["canary"]["error_rate"] == 0.3, faults

    test, rows = split_requests(trained)
    # Warm-up: every series (each label x class x code) exists before the window starts, because
    # increase() cannot count what happened before a series' first scrape.
    benign = [r for r, y in zip(rows, test["label"], strict=True) if y == "benign"][:20]
    malignant = [r for r, y in zip(rows, test["label"], strict=True) if y == "malignant"][:20]
    predict(rest, benign + malignant)
    wait_scrapes(prom)
    start = time.time()
    time.sleep(3)  # idle scrapes at both ends: the window's increase is the burst, not an extrapolation
    predict(rest, (rows * 4)[:400])
    wait_scrapes(prom, 4)
    end = time.time()

    source = PrometheusSource(prom)
    canary = source.window(MODEL, "canary", "2", start, end)
    stable = source.window(MODEL, "stable", "1", start, end)
    direct = LocalSamplesSource(rest, TOKEN)
    canary_direct = direct.window(MODEL, "canary", "2", start, end)
    stable_direct = direct.window(MODEL, "stable", "1", start, end)
    # The Prometheus path sees what the server saw (increase() extrapolates: allow a little slack).
    seen = {
        "prometheus": (canary.summary(), stable.summary()),
        "direct": (canary_direct.summary(), stable_direct.summary()),
    }
    print(json.dumps(seen, default=str)[:3000], file=sys.stderr)
    assert canary_direct.requests + stable_direct.requests == 400
    assert canary.requests == pytest.approx(canary_direct.requests, rel=0.1)
    assert stable.requests == pytest.approx(stable_direct.requests, rel=0.1)
    assert canary.error_rate == pytest.approx(0.3, abs=0.1) and stable.errors == 0
    for label, via, direct_window in (("canary", canary, canary_direct), ("stable", stable, stable_direct)):
        for cls in ("benign", "malignant"):
            got, want = via.class_counts.get(cls, 0), direct_window.class_counts.get(cls, 0)
            assert got == pytest.approx(want, rel=0.15, abs=3), (label, cls)

    result = analyse(canary, stable, Analysis(min_requests=50))
    assert result.result == "fail", result.as_dict()
    assert "error_rate" in {c.check for c in result.failed()}

    # The SLO recording rules evaluate on the real series and the burn alerts are loaded.
    ratio = query(prom, f'aip:serving_request_errors:ratio_rate5m{{model="{MODEL}"}}')
    assert ratio and float(ratio[0]["value"][1]) > 0.05
    rules = http("GET", f"{prom}/api/v1/rules")["data"]["groups"]
    alerts = {r["name"] for g in rules for r in g["rules"] if r["type"] == "alerting"}
    assert {"AipServingErrorBudgetBurn", "AipCanaryFailed", "Watchdog"} <= alerts
    assert all(r["health"] == "ok" for g in rules for r in g["rules"]), rules


def test_scraped_series_are_all_in_the_catalogue(stack: dict[str, Any]):
    predict(stack["rest"], [{"mean radius": 1.0}])  # a 400 still counts a request
    wait_scrapes(stack["prom"], 2)
    names = {
        r["metric"]["__name__"] for r in query(stack["prom"], 'count by (__name__) ({__name__=~"aip_.*"})')
    }
    assert {"aip_serving_requests_total", "aip_serving_request_duration_seconds_bucket"} <= names
    assert names <= known_series(), names - known_series()


def test_the_server_samples_requests_into_the_drift_sink(stack: dict[str, Any], trained: Path):
    _, rows = split_requests(trained)
    http("DELETE", f"{stack['rest']}/v1/admin/models/{MODEL}/faults", token=TOKEN)
    since = datetime.now(UTC)
    predict(stack["rest"], rows)  # the whole test split once: a representative window
    wait_scrapes(stack["prom"], 4)  # the sampler flushes every 2 s
    written = query(stack["prom"], f'sum(aip_serving_samples_written_total{{model="{MODEL}"}})')
    assert written and float(written[0]["value"][1]) >= len(rows)
    records = [
        json.loads(x) for p in (stack["work"] / "sink").rglob("*.jsonl") for x in p.read_text().splitlines()
    ]
    assert len([r for r in records if r["ts"] >= since.timestamp()]) == len(rows)
    assert set(records[-1]["inputs"]) == set(rows[0]) and records[-1]["prediction"] in {"benign", "malignant"}
    out = stack["work"] / "drift"
    result = run_aip(
        trained, "drift", MODEL, "--sink", str(stack["work"] / "sink"), "--reference-predictions", "labels",
        "--since", since.isoformat(), "--out", str(out), "--no-push",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr  # served test-split rows: no drift
