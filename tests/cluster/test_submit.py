"""Submitting and watching through kubectl (pipelines/cluster/kube.py, submit.py, `aip cluster`).

No Kubernetes API server can run here, so these drive the real subprocess path against a stand-in
kubectl (tests/cluster/standin_kubectl.py) whose TrainJob statuses are scripted. What they cannot
show: that the API server accepts the objects (the CRD schemas check that offline, CEL rules aside),
that Kueue admits and the Trainer runs the job on a real cluster.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from pipelines.cluster import ClusterError, JobFailed, plan_for
from pipelines.cluster.kube import Kubectl
from pipelines.cluster.submit import SubmitOptions, submit
from pipelines.repo.layout import Repo
from tests.cluster.conftest import COMPLETE, FAILED, QUEUED, RUNNING
from tests.support.cli import run_aip
from tests.support.repo import REPO_ROOT

FAST = SubmitOptions(timeout_s=30, poll_s=0.01)


def plan():  # type: ignore[no-untyped-def]
    return plan_for(
        Repo(REPO_ROOT), "tumor-classifier", "dev", commit="feedface00", name="tumor-classifier-test"
    )


def test_submit_applies_setup_then_job_and_waits_for_completion(standin):
    standin.script(QUEUED, RUNNING, COMPLETE)
    lines: list[str] = []
    state = submit(plan(), Kubectl(kubectl=standin.kubectl), FAST, progress=lines.append)
    assert state.phase == "complete"
    objects = standin.objects()
    assert set(objects) == {
        "Namespace-ml-training",
        "ServiceAccount-aip-training",
        "Role-aip-trainjob-submitter",
        "RoleBinding-aip-trainjob-submitter",
        "ResourceFlavor-gpu-pool",
        "ClusterQueue-training",
        "LocalQueue-training",
        "ClusterTrainingRuntime-aip-torch",
        "TrainJob-tumor-classifier-test",
    }
    applies = [c for c in standin.calls() if "apply" in c]
    assert applies == [["apply", "--server-side", "--field-manager=aip", "-f", "-"]] * 2
    assert "submitted trainjob/tumor-classifier-test to queue training in ml-training" in lines
    assert any(
        line.endswith(
            "trainjob/tumor-classifier-test: complete (node: active 0, ready 0, succeeded 2, failed 0)"
        )
        for line in lines
    )


def test_a_job_already_on_the_cluster_is_watched_not_submitted_again(standin):
    standin.script(COMPLETE)
    kubectl = Kubectl(kubectl=standin.kubectl)
    submit(plan(), kubectl, FAST, progress=lambda _: None)
    lines: list[str] = []
    submit(plan(), kubectl, SubmitOptions(setup=False, timeout_s=5, poll_s=0.01), progress=lines.append)
    assert sum("apply" in c for c in standin.calls()) == 2  # the first run's two, none from the second
    assert lines[0].startswith("trainjob/tumor-classifier-test already exists in ml-training")


def test_a_failed_job_raises_with_conditions_and_where_to_look(standin):
    standin.script(RUNNING, FAILED)
    with pytest.raises(JobFailed) as err:
        submit(plan(), Kubectl(kubectl=standin.kubectl), FAST, progress=lambda _: None)
    assert "BackoffLimitExceeded" in str(err.value)
    assert "kubectl -n ml-training describe trainjob tumor-classifier-test" in str(err.value)


def test_kubectl_refusing_or_missing_is_a_clear_error(standin, monkeypatch):
    monkeypatch.setenv("STANDIN_REFUSE", "You must be logged in to the server (Unauthorized)")
    with pytest.raises(
        ClusterError, match=r"apply the training setup: kubectl apply failed: error: You must be logged in"
    ):
        submit(plan(), Kubectl(kubectl=standin.kubectl), FAST, progress=lambda _: None)
    with pytest.raises(ClusterError, match="not found on PATH"):
        Kubectl(kubectl=str(standin.bin_dir / "no-kubectl")).get("trainjobs.trainer.kubeflow.org", "x", "ns")


def _cli_env(standin) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"PATH": f"{standin.bin_dir}{os.pathsep}{os.environ['PATH']}", "STANDIN_STATE": str(standin.state)}


def test_cli_train_exits_non_zero_when_kueue_never_admits_the_job(standin):
    standin.script(QUEUED)
    proc = run_aip(
        REPO_ROOT,
        "cluster",
        "train",
        "tumor-classifier",
        "--env",
        "dev",
        "--name",
        "t-cli",
        "--timeout",
        "0.3",
        "--poll",
        "0.1",
        env=_cli_env(standin),
        timeout=120,
    )
    assert proc.returncode != 0, proc.stdout
    assert "trainjob/t-cli still waiting for Kueue to admit it (suspended) after 0.3s" in proc.stderr
    assert "Suspended=True" in proc.stderr
    assert "trainjob/t-cli: tumor-classifier in dev, 1 node(s) x 1 process(es), 1 GPU each" in proc.stdout


def test_cli_train_succeeds_when_the_job_completes(standin):
    standin.script(RUNNING, COMPLETE)
    proc = run_aip(
        REPO_ROOT,
        "cluster",
        "train",
        "tumor-classifier",
        "--env",
        "dev",
        "--name",
        "t-ok",
        "--poll",
        "0.05",
        env=_cli_env(standin),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith("trainjob/t-ok: complete")


def test_cli_render_writes_every_object_and_where_sets_the_workflow_output(tmp_path):
    out = tmp_path / "rendered" / "dev.yaml"
    proc = run_aip(
        REPO_ROOT, "cluster", "render", "tumor-classifier", "--env", "dev", "--name", "t-r", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(out.read_text())]
    assert kinds[-1] == "TrainJob" and len(kinds) == 9
    github_output = tmp_path / "github_output"
    proc = run_aip(REPO_ROOT, "cluster", "where", "--env", "dev", env={"GITHUB_OUTPUT": str(github_output)})
    assert proc.returncode == 0, proc.stderr
    expected = Repo(REPO_ROOT).platform.environments["dev"].training
    assert github_output.read_text() == f"training={expected}\n"


def test_cli_setup_applies_everything_but_a_job_and_deploy_submits_only_the_job(standin):
    proc = run_aip(REPO_ROOT, "cluster", "setup", "--env", "prod", env=_cli_env(standin), timeout=120)
    assert proc.returncode == 0, proc.stderr
    objects = standin.objects()
    assert not any(k.startswith("TrainJob-") for k in objects)
    assert objects["ClusterQueue-training"]["metadata"]["labels"]["aip.platform/env"] == "prod"
    role = objects["Role-aip-trainjob-submitter"]
    assert {
        "apiGroups": ["trainer.kubeflow.org"],
        "resources": ["trainjobs"],
        "verbs": ["create", "get", "list", "watch"],
    } in role["rules"]
    assert objects["RoleBinding-aip-trainjob-submitter"]["subjects"][0]["name"] == "aip:trainjob-submitters"
    # deploy.yml's form: --no-setup applies the TrainJob alone.
    standin.script(COMPLETE)
    before = sum("apply" in c for c in standin.calls())
    proc = run_aip(
        REPO_ROOT,
        "cluster",
        "train",
        "tumor-classifier",
        "--env",
        "prod",
        "--name",
        "t-ns",
        "--no-setup",
        "--poll",
        "0.05",
        env=_cli_env(standin),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert sum("apply" in c for c in standin.calls()) == before + 1


def test_cli_refuses_an_unknown_environment(tmp_path: Path):
    proc = run_aip(REPO_ROOT, "cluster", "render", "tumor-classifier", "--env", "qa")
    assert proc.returncode != 0 and "unknown environment 'qa'" in proc.stderr
