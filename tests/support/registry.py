"""The trained registry the serving, deploy, e2e, model and observability tests share.

`train_registry` makes a repo copy where one `aip run` prepared the data (its DVC stages) and trained,
evaluated and registered both models (version 1 of each, alias `local`, promoted directly) on a small
sample: the text model shrunk (200 rows, one epoch, 32 tokens) with gates relaxed to what such a model
reaches; the tabular model trained exactly as configured, with short local rollout steps; the serving
endpoint on a free port. The same run builds the platform-docs index and evaluates and registers the
platform-assistant prompt (version 1, alias `local`) with short answers. The session fixture
`trained_registry` (tests/conftest.py) makes it once.

It is read-only: a test that changes files, the registry or served state works on a `private_copy`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.support.cli import run_aip
from tests.support.git import git
from tests.support.ports import free_port
from tests.support.repo import copy_state, edit_yaml, make_repo_copy

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.artifacts import Predictor
    from pipelines.config import DatasetConfig, TabularClassifierConfig

TUMOR, TEXT = "tumor-classifier", "topic-classifier"
PROMPT = "platform-assistant"
# The registered prompt answers in at most this many tokens (tests/prompts, tests/serving).
SHORT_ANSWER_TOKENS = 24

# Canary steps short enough for a test, long enough for >= 100 canary requests per verdict.
SHORT_ROLLOUT = {
    "steps": [{"set_weight": 25}, {"analysis_seconds": 4}, {"set_weight": 50}, {"analysis_seconds": 3}],
    "analysis": {"min_requests": 100},
}


def shrink_text_model(data: Any) -> None:
    """model.yaml of the text model: 200 rows, one epoch, 32 tokens; gates such a model reaches."""
    data["training"].update({"epochs": 1, "max_train_samples": 200, "max_length": 32, "batch_size": 16})
    data["evaluation"]["gates"] = [{"metric": "accuracy", "min": 0.05}]
    data["evaluation"]["explain"] = {"max_evals": 8}  # SHAP token attributions: a few seconds, not a minute
    data["evaluation"]["behavioural"]["min_pass_rate"] = {
        "minimum_functionality": 0.0,
        "invariance": 0.0,
        "directional": 0.0,
    }


def short_rollout(data: Any) -> None:
    """model.yaml: the local environment's rollout is SHORT_ROLLOUT (the weights do not change)."""
    data["environments"]["local"] = {"rollout": SHORT_ROLLOUT}


def free_port_endpoint(data: Any) -> None:
    """platform.yaml: `local` serves on a free port, never on a server someone runs on 8501."""
    data["environments"]["local"]["serving_endpoint"] = f"http://127.0.0.1:{free_port()}"


def short_answers(data: Any) -> None:
    """The assistant prompt with short answers: its evaluation's generations take a few seconds. A
    24-token answer is a fragment, less grounded than a whole one (measured 0.39 vs 0.53): its gate is
    relaxed as the small text model's are."""
    data["generator"]["max_tokens"] = SHORT_ANSWER_TOKENS
    for gate in data["evaluation"]["gates"]:
        if gate["metric"] == "groundedness":
            gate["min"] = 0.25


@dataclass(frozen=True)
class TrainedRegistry:
    root: Path
    result: subprocess.CompletedProcess[str]  # the `aip run --summary-json` that trained it
    models: dict[str, Any]  # its summary, by model name

    def checked_root(self) -> Path:
        """The root, after asserting the run succeeded (for fixtures that build on it)."""
        assert self.result.returncode == 0, self.result.stderr[-3000:]
        return self.root


def run_summary(root: Path, *models: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`aip run MODELS --summary-json root/summary.json`: the process and the summary by model."""
    out = root / "summary.json"
    result = run_aip(root, "run", *models, "--summary-json", str(out))
    report = json.loads(out.read_text()) if out.exists() else {}
    return result, {m["model"]: m for m in report.get("models", [])}


def train_registry(dest: Path) -> TrainedRegistry:
    """A repo copy at `dest` and its first `aip run` (not asserted: the e2e tests assert it)."""
    root = make_repo_copy(dest)
    edit_yaml(root / "models" / TEXT / "model.yaml", shrink_text_model)
    edit_yaml(root / "models" / TUMOR / "model.yaml", short_rollout)
    edit_yaml(root / "platform.yaml", free_port_endpoint)
    edit_yaml(root / "prompts" / PROMPT / "prompt.yaml", short_answers)
    git(root, "commit", "-qam", "small sample")
    result, models = run_summary(root)
    return TrainedRegistry(root, result, models)


def mlflow_client(root: Path) -> Any:
    """An MlflowClient on the repo copy's SQLite tracking store and registry."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{root / '.aip' / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextmanager
def tracking_uri(root: Path) -> Iterator[None]:
    """MLflow's global tracking URI on the repo copy's store, put back after (MLflow resolves a
    version's `models:/m-...` source through it)."""
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{root / '.aip' / 'mlflow.db'}")
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)


def private_copy(root: Path, dest: Path, *, keep: Iterable[str] | None = None) -> Path:
    """A private copy of the trained registry at `root`; with `keep`, the other registered models are
    deleted from the copy's registry (their artifacts stay where they are)."""
    copy = copy_state(root, dest)
    if keep is not None:
        kept, client = set(keep), mlflow_client(copy)
        for model in client.search_registered_models():
            if model.name not in kept:
                client.delete_registered_model(model.name)
    return copy


def registered_artifact(root: Path, model: str, alias: str = "local") -> Path:
    """The aip artifact folder of the version `alias` points at, read in place (no download)."""
    from pipelines.registry.loader import ARTIFACT_KEY

    client = mlflow_client(root)
    version = client.get_model_version_by_alias(model, alias)
    model_id = version.model_id or version.source.removeprefix("models:/")  # source: models:/m-<id>
    location = client.get_logged_model(model_id).artifact_location
    return Path(location.removeprefix("file://")) / "artifacts" / ARTIFACT_KEY


def register_serving_versions(root: Path) -> None:
    """The serving tests' versions: v2 from v1's logged model (same weights, another fingerprint tag:
    a healthy canary), v3 a folder with pickled weights only (a canary that fails to load)."""
    client = mlflow_client(root)
    v1 = client.get_model_version_by_alias(TUMOR, "local")
    assert str(v1.version) == "1"
    with tracking_uri(root):
        client.create_model_version(
            TUMOR,
            source=v1.source,
            run_id=v1.run_id,
            tags={"aip.fingerprint": "healthy-copy-of-v1"},
            model_id=getattr(v1, "model_id", None),
        )
        broken = root / ".aip" / "broken-model"
        (broken / "artifacts" / "aip_model").mkdir(parents=True)
        (broken / "MLmodel").write_text("artifact_path: model\nflavors: {}\n")
        (broken / "artifacts" / "aip_model" / "aip-model.json").write_text("{}")
        (broken / "artifacts" / "aip_model" / "model.bin").write_bytes(b"pickled weights")
        client.create_model_version(TUMOR, source=str(broken), tags={"aip.fingerprint": "broken"})


@dataclass
class TrainedTumorModel:
    """The registered tumour model of the trained registry, and the test split it was judged on."""

    config: TabularClassifierConfig
    dataset: DatasetConfig
    predictor: Predictor
    test: pd.DataFrame


def tumor_model(root: Path) -> TrainedTumorModel:
    """Version 1 of the tumour model (@local) with the repo's config, and the test split the pipeline's
    split stage (`split_frame`) wrote: what production trains and evaluates on."""
    from pipelines.artifacts import load
    from pipelines.config import TabularClassifierConfig
    from pipelines.data.split import load_split
    from pipelines.repo.layout import Repo

    repo = Repo(root)
    config = repo.model(TUMOR)
    assert isinstance(config, TabularClassifierConfig)
    dataset = repo.dataset(config.dataset)
    test = load_split(repo, config.dataset, "test")
    return TrainedTumorModel(config, dataset, load(registered_artifact(root, TUMOR)), test)
