"""The server's drift sampling: real requests reach the sink, requests marked synthetic never do."""

from __future__ import annotations

import json
import time
from pathlib import Path

from pipelines.deploy.load import LoadDriver
from tests.support.serve import start_server

SYNTHETIC_MARK = 9999.0  # a feature value no real row has: identifies the synthetic requests in the sink


def test_synthetic_traffic_stays_out_of_the_drift_sink_and_real_requests_are_sampled(
    served_repo: Path, tmp_path: Path, tumor_rows: list[dict[str, float]]
):
    sink = tmp_path / "sink"
    server = start_server(served_repo, tmp_path, env={"AIP_SAMPLE_SINK": str(sink)})
    try:
        marked = [{**row, "mean radius": SYNTHETIC_MARK} for row in tumor_rows]
        load = LoadDriver(server.url, "tumor-classifier", marked, clients=2)  # the canary's load driver
        with load:
            while len(load.snapshot()) < 300:
                time.sleep(0.05)
        assert {r.status for r in load.snapshot()} == {200}
        for i in range(300):  # unmarked: what a user sends (model.yaml samples 10% of requests)
            assert server.predict([tumor_rows[i % len(tumor_rows)]]).status == 200
    finally:
        assert server.stop() == 0  # SIGTERM flushes the sampler
    records = [json.loads(line) for part in sink.rglob("*.jsonl") for line in part.read_text().splitlines()]
    radii = [r["inputs"]["mean radius"] for r in records]
    assert SYNTHETIC_MARK not in radii
    assert 5 <= len(records) <= 80  # ~30 of 300 real requests; P(outside) < 1e-6 at a 10% rate
