"""Deploys follow the commit, with real canaries: a revert rolls the environment back to the older,
still-registered version without retraining; a fresh checkout promotes a registered fingerprint.

On a private copy of the session's trained registry (tumour model v1 @local at commit A). Version 2
is v1's logged model registered under the fingerprint of commit B (model.yaml with another seed): the
same weights, so its canary is a healthy twin and the verdicts are promotions.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_aip
from tests.support.git import git
from tests.support.registry import TUMOR, TrainedRegistry, mlflow_client, private_copy, tracking_uri
from tests.support.repo import edit_yaml

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def fingerprint(root: Path) -> str:
    result = run_aip(root, "fingerprint", TUMOR)
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["fingerprint"])


def alias(root: Path, env: str = "local") -> str:
    return str(mlflow_client(root).get_model_version_by_alias(TUMOR, env).version)


def training_runs(root: Path, client: Any = None) -> int:
    client = client or mlflow_client(root)
    experiment = client.get_experiment_by_name(f"aip/{TUMOR}")
    return len(client.search_runs([experiment.experiment_id], "tags.`aip.step` = 'train'"))


def deploy(root: Path, report: Path, *args: str) -> dict[str, str]:
    result = run_aip(root, "deploy", TUMOR, "--report-json", str(report), *args, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return dict(json.loads(report.read_text()))


def test_a_revert_deploys_the_older_registered_version_again_and_a_rerun_is_a_noop(
    trained_registry: TrainedRegistry, tmp_path: Path
):
    root = private_copy(trained_registry.checked_root(), tmp_path / "repo", keep=[TUMOR])
    runs = training_runs(root)
    fp_a = fingerprint(root)
    assert alias(root) == "1"
    assert mlflow_client(root).get_model_version(TUMOR, "1").tags["aip.fingerprint"] == fp_a
    at_a = deploy(root, tmp_path / "a.json")
    assert (at_a["verdict"], at_a["version"]) == ("up_to_date", "1")  # commit A → v1, already there

    edit_yaml(root / "models" / TUMOR / "model.yaml", lambda d: d["training"].update({"seed": 7}))
    git(root, "commit", "-qam", "B: another seed")
    commit_b = git(root, "rev-parse", "HEAD")
    fp_b = fingerprint(root)
    assert fp_b != fp_a
    client = mlflow_client(root)
    v1 = client.get_model_version(TUMOR, "1")
    with tracking_uri(root):
        v2 = client.create_model_version(
            TUMOR, source=v1.source, run_id=v1.run_id, tags={"aip.fingerprint": fp_b}, model_id=v1.model_id
        )
    assert str(v2.version) == "2"
    at_b = deploy(root, tmp_path / "b.json")
    assert (at_b["verdict"], at_b["version"], at_b["stable_before"]) == ("promoted", "2", "1"), at_b
    assert alias(root) == "2"

    git(root, "revert", "--no-edit", commit_b)
    assert fingerprint(root) == fp_a
    reverted = deploy(root, tmp_path / "revert.json")
    assert (reverted["verdict"], reverted["version"], reverted["stable_before"]) == ("promoted", "1", "2")
    assert alias(root) == "1"

    rerun = deploy(root, tmp_path / "rerun.json")
    assert (rerun["verdict"], rerun["alias_after"]) == ("up_to_date", "1")
    assert training_runs(root) == runs  # nothing was retrained
    assert len(client.search_model_versions(f"name = '{TUMOR}'")) == 2

    out = tmp_path / "github-output"
    out.write_text("")
    result = run_aip(
        root,
        "ci",
        "deployed",
        "--env",
        "local",
        "--models",
        TUMOR,
        str(tmp_path / "rerun.json"),
        env={"GITHUB_OUTPUT": str(out)},
    )
    assert result.returncode == 0, result.stderr
    assert "deployed=true" in out.read_text()


def test_a_fresh_checkout_promotes_a_registered_fingerprint_without_retraining(
    trained_registry: TrainedRegistry, tmp_path: Path
):
    """What deploy.yml runs for staging: no `.aip/` (a fresh checkout), the shared registry elsewhere.
    `aip evaluate` used to crash with FileNotFoundError `.aip/aip-model-XXXX` here."""
    trained = trained_registry.checked_root()
    registry = tmp_path / "registry"
    registry.mkdir()
    shutil.copy2(trained / ".aip" / "mlflow.db", registry / "mlflow.db")
    root = tmp_path / "checkout"
    shutil.copytree(trained, root, symlinks=True, ignore=shutil.ignore_patterns(".aip"))
    assert not (root / ".aip").exists()
    uri = f"sqlite:///{registry / 'mlflow.db'}"
    env = {"AIP_TRACKING_URI": uri}
    from mlflow.tracking import MlflowClient

    shared = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = training_runs(root, shared)

    steps = [
        ["train", TUMOR, "--env", "staging"],
        ["evaluate", TUMOR, "--env", "staging"],
        ["register", TUMOR, "--env", "staging", "--no-alias"],
        ["deploy", TUMOR, "--env", "staging", "--endpoint", "http://127.0.0.1:9"],  # first: directly
        ["deploy", TUMOR, "--env", "staging"],  # level-based rerun: nothing to deploy
    ]
    outputs = []
    for args in steps:
        result = run_aip(root, *args, env=env, timeout=600)
        assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-3000:])
        assert "Traceback" not in result.stderr
        outputs.append(result.stdout)
    assert "is registered as v1; nothing to train" in outputs[0]
    assert "fingerprint" in outputs[2] and "is v1" in outputs[2]
    assert "promoted directly" in outputs[3]
    assert "nothing to deploy" in outputs[4]
    assert str(shared.get_model_version_by_alias(TUMOR, "staging").version) == "1"
    assert training_runs(root, shared) == runs
