"""`aip drift`: a shifted sample of the tabular data drifts (exit 3), an unshifted one does not (exit 0),
an empty or tiny window is insufficient data (exit 4), never "no drift". Real data, real statistics."""

from __future__ import annotations

import json
import random
import shutil
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from pipelines.monitoring.sink import Sampler, SampleSink
from tests.support.cli import run_aip

MODEL = "tumor-classifier"
SPLITS = Path("datasets") / "breast-cancer" / "data" / "splits"
TEXT_SPLITS = Path("datasets") / "chatterbot-topics" / "data" / "splits"


@pytest.fixture
def repo(repo_copy: Path, prepared_root: Path) -> Path:
    """A repo copy holding the breast-cancer splits (the drift reference is the train split)."""
    shutil.copytree(prepared_root / SPLITS, repo_copy / SPLITS)
    return repo_copy


def tabular_records(repo: Path, shift: float, rows: int | None = None, seed: int = 0) -> list[dict]:
    """`repo`'s test-split rows as sampled requests; `shift` scales the size/shape features (1.0 =
    unshifted)."""
    frame = pd.read_csv(repo / SPLITS / "test.csv")
    if rows is not None:
        frame = frame.sample(rows, random_state=seed)
    features = [c for c in frame.columns if c not in ("label", "tumour_id", "event_timestamp")]  # inputs only
    now = time.time()
    return [
        {
            "ts": now - 30 * i,
            "request_id": str(uuid.uuid4()),
            "index": 0,
            "model": MODEL,
            "version": "1",
            "label": "stable",
            "inputs": {
                f: float(row[f]) * (shift if f.startswith(("mean ", "worst ")) else 1.0) for f in features
            },
            "prediction": str(row["label"]),
            "probabilities": None,
        }
        for i, (_, row) in enumerate(frame.iterrows())
    ]


def drift(repo: Path, sink: Path, *args: str):
    out = repo / "drift-report"
    result = run_aip(
        repo,
        "drift",
        MODEL,
        "--sink",
        str(sink),
        "--reference-predictions",
        "labels",
        "--out",
        str(out),
        *args,
    )
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return result, report


def test_unshifted_sample_does_not_drift(repo: Path, tmp_path: Path):
    SampleSink(str(tmp_path / "sink")).write(tabular_records(repo, shift=1.0))
    result, report = drift(repo, tmp_path / "sink")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"{MODEL} @local: no drift (113 samples)")
    assert report["status"] == "no_drift" and report["exit_code"] == 0
    assert report["dataset_drift"]["features_tested"] == 30
    assert report["dataset_drift"]["share"] < 0.5
    assert report["prediction"]["drifted"] is False
    assert {f["method"] for f in report["features"]} == {
        "ks"
    }  # fewer than 1,000 rows: KS (Evidently's choice)


def test_shifted_sample_drifts_and_exits_3(repo: Path, tmp_path: Path):
    SampleSink(str(tmp_path / "sink")).write(tabular_records(repo, shift=1.3))
    result, report = drift(repo, tmp_path / "sink")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "dataset drift" in result.stdout
    assert report["status"] == "drift"
    drifted = {f["feature"] for f in report["features"] if f["drifted"]}
    assert "mean smoothness" in drifted and "worst symmetry" in drifted
    assert not any(f.endswith(" error") for f in drifted)  # the unshifted "error" features stay put
    html = (repo / "drift-report" / "report.html").read_text()
    assert "<b>drift</b>" in html and html.count("data:image/png;base64,") >= 3
    metrics = (repo / ".aip" / "metrics" / "aip-drift--env=local--model=tumor-classifier.prom").read_text()
    assert 'aip_drift_detected{env="local",model="tumor-classifier"} 1.0' in metrics
    assert (
        'aip_drift_score{env="local",feature="mean radius",method="psi",model="tumor-classifier"}' in metrics
    )


@pytest.mark.parametrize("rows", [0, 10])
def test_empty_or_tiny_window_is_insufficient_data_not_no_drift(repo: Path, tmp_path: Path, rows: int):
    sink = tmp_path / "sink"
    sink.mkdir()
    if rows:
        SampleSink(str(sink)).write(tabular_records(repo, shift=1.0, rows=rows))
    result, report = drift(repo, sink)
    assert result.returncode == 4, result.stdout + result.stderr
    assert result.stdout.startswith(f"{MODEL} @local: insufficient data ({rows} samples)")
    assert report["status"] == "insufficient_data" and report["samples"] == rows


def test_samples_outside_the_window_are_not_counted(repo: Path, tmp_path: Path):
    records = tabular_records(repo, shift=1.3)
    for r in records:
        r["ts"] -= 30 * 86400  # a month old
    SampleSink(str(tmp_path / "sink")).write(records)
    result, _ = drift(repo, tmp_path / "sink", "--days", "7")
    assert result.returncode == 4
    since = (datetime.now(UTC) - timedelta(days=40)).date().isoformat()
    result, report = drift(repo, tmp_path / "sink", "--since", since)
    assert result.returncode == 3 and report["samples"] == 113


def test_live_quality_from_feedback_and_its_threshold(repo: Path, tmp_path: Path):
    records = tabular_records(repo, shift=1.0)
    SampleSink(str(tmp_path / "sink")).write(records)
    flip = {"benign": "malignant", "malignant": "benign"}
    feedback = tmp_path / "labels.jsonl"
    feedback.write_text(
        "\n".join(
            json.dumps(
                {
                    "request_id": r["request_id"],
                    "label": flip[r["prediction"]] if i % 4 == 0 else r["prediction"],
                }
            )
            for i, r in enumerate(records[:80])
        )
    )
    result, report = drift(repo, tmp_path / "sink", "--feedback", str(feedback))
    assert result.returncode == 0, result.stderr
    assert report["quality"]["labelled"] == 80 and report["quality"]["accuracy"] == pytest.approx(0.75)
    yaml = repo / "models" / MODEL / "model.yaml"
    yaml.write_text(yaml.read_text() + "monitoring:\n  drift:\n    min_live_accuracy: 0.9\n")
    result, report = drift(repo, tmp_path / "sink", "--feedback", str(feedback))
    assert result.returncode == 3 and "live accuracy 0.750 below 0.9" in result.stdout


def test_unknown_model_and_bad_dates_are_usage_errors(repo: Path):
    result = run_aip(repo, "drift", "no-such-model")
    assert result.returncode == 2 and "unknown model 'no-such-model'" in result.stderr
    result = run_aip(repo, "drift", MODEL, "--since", "yesterday")
    assert result.returncode == 2 and "--since 'yesterday' is not an ISO date" in result.stderr


# ---- the sink and the server's sampler ---------------------------------------------------------------
def test_sink_partitions_by_model_version_and_date_and_reads_a_window(tmp_path: Path):
    sink = SampleSink(str(tmp_path))
    day = datetime(2026, 11, 2, 12, tzinfo=UTC).timestamp()
    sink.write([{"ts": day, "model": "m", "version": "1", "inputs": "a", "request_id": "r1"}])
    sink.write([{"ts": day + 86400, "model": "m", "version": "2", "inputs": "b", "request_id": "r2"}])
    files = sorted(p.relative_to(tmp_path).parent.as_posix() for p in tmp_path.rglob("*.jsonl"))
    assert files == ["model=m/version=1/date=2026-11-02", "model=m/version=2/date=2026-11-03"]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    assert [r["inputs"] for r in sink.read("m", start, start + timedelta(days=5))] == ["a", "b"]
    assert [r["inputs"] for r in sink.read("m", start, start + timedelta(days=5), version="2")] == ["b"]
    assert sink.read("m", start, start + timedelta(days=1, hours=12)) == []
    assert sink.read("other", start, start + timedelta(days=5)) == []


def make_sampler(repo: Path, tmp_path: Path, registry: CollectorRegistry | None = None) -> Sampler:
    from pipelines.repo.layout import Repo

    return Sampler.for_server(Repo(repo), "local", registry, sink=str(tmp_path / "sink"))


def test_sampler_writes_inputs_and_predictions_and_counts_them(repo: Path, tmp_path: Path):
    yaml = repo / "models" / MODEL / "model.yaml"
    yaml.write_text(yaml.read_text() + "monitoring:\n  sample_rate: 1.0\n")
    registry = CollectorRegistry()
    sampler = make_sampler(repo, tmp_path, registry)
    for i in range(5):
        assert sampler.record(
            model=MODEL,
            version="3",
            label="canary",
            request_id=f"r{i}",
            inputs=[{"mean radius": 14.0 + i}, {"mean radius": 9.0}],
            predictions=["malignant", "benign"],
            probabilities=[[0.1, 0.9], [0.8, 0.2]],
        )
    sampler.close()
    now = datetime.now(UTC)
    records = SampleSink(str(tmp_path / "sink")).read(
        MODEL, now - timedelta(hours=1), now + timedelta(hours=1)
    )
    assert len(records) == 10
    assert records[0]["inputs"] == {"mean radius": 14.0} and records[0]["prediction"] == "malignant"
    assert {r["label"] for r in records} == {"canary"} and {r["index"] for r in records} == {0, 1}
    assert (
        'aip_serving_samples_written_total{model="tumor-classifier",version="3"} 10.0'
        in generate_latest(registry).decode()
    )


def test_privacy_switch_turns_sampling_off(repo: Path, tmp_path: Path):
    yaml = repo / "models" / MODEL / "model.yaml"
    yaml.write_text(yaml.read_text() + "monitoring:\n  sampling: false\n  sample_rate: 1.0\n")
    sampler = make_sampler(repo, tmp_path)
    assert not sampler.record(
        model=MODEL, version="1", label="stable", request_id="r", inputs=[{"x": 1}], predictions=["benign"]
    )
    sampler.close()
    assert not (tmp_path / "sink").exists() or not list((tmp_path / "sink").rglob("*.jsonl"))


def test_sample_rate_is_honoured(repo: Path, tmp_path: Path):
    from pipelines.monitoring.sink import _Policy

    sampler = Sampler(SampleSink(str(tmp_path / "sink")), {"m": _Policy(True, 0.1)}, seed=7)
    kept = sum(
        sampler.record(model="m", version="1", label="", request_id=str(i), inputs=["t"], predictions=["a"])
        for i in range(5000)
    )
    sampler.close()
    assert 400 < kept < 600  # 10% of 5,000 with a generous binomial margin (sd ~21)


# ---- text ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_text_drift_by_embeddings_fires_on_other_text_only(repo_copy: Path, prepared_root: Path):
    from pipelines.monitoring.drift import check
    from pipelines.monitoring.sink import SampleSink as Sink
    from pipelines.repo.layout import Repo

    shutil.copytree(prepared_root / TEXT_SPLITS, repo_copy / TEXT_SPLITS)
    test = pd.read_csv(prepared_root / TEXT_SPLITS / "test.csv").sample(120, random_state=1)
    rng = random.Random(0)
    logs = [
        f"ERROR {rng.randint(100, 999)} in {rng.choice(['db', 'net', 'auth'])}: "
        f"timeout after {rng.randint(1, 60)}s"
        for _ in range(120)
    ]
    now = datetime.now(UTC)
    results = {}
    for name, texts, predictions in (
        ("same", list(test["text"]), list(test["label"])),
        ("logs", logs, ["ai"] * 120),
    ):
        sink = repo_copy / f"sink-{name}"
        Sink(str(sink)).write(
            [
                {
                    "ts": now.timestamp() - i,
                    "request_id": str(i),
                    "index": 0,
                    "model": "topic-classifier",
                    "version": "1",
                    "label": "stable",
                    "inputs": str(t),
                    "prediction": str(p),
                }
                for i, (t, p) in enumerate(zip(texts, predictions, strict=True))
            ]
        )
        results[name] = check(
            Repo(repo_copy),
            "topic-classifier",
            "local",
            since=now - timedelta(days=1),
            until=now + timedelta(minutes=1),
            sink=str(sink),
            reference_predictions="labels",
        )
    same, logs_report = results["same"], results["logs"]
    assert same.status == "no_drift", same.reasons
    assert same.text is not None and same.text["roc_auc"] < 0.55
    assert logs_report.status == "drift"
    assert logs_report.text is not None and logs_report.text["roc_auc"] > 0.9
    assert logs_report.text["oov_rate_current"] > logs_report.text["oov_rate_reference_baseline"]
    assert any("text drift" in r for r in logs_report.reasons) and any(
        "prediction drift" in r for r in logs_report.reasons
    )
