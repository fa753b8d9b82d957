"""The operators' Helm releases, the quota against the GPU pool, and the built-in kinds' validation."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from pipelines.cluster import plan_for, render_job, render_setup
from pipelines.cluster.manifests import parse_quantity
from pipelines.repo.layout import Repo
from tests.infra.test_gpu_capacity import terraform_env
from tests.support.infra import INFRA, TOOLS_VENV, tool_env
from tests.support.repo import REPO_ROOT

PLATFORM = INFRA / "k8s" / "platform"
ENVS = ("dev", "staging", "prod")


def release(name: str) -> dict[str, str]:
    releases = yaml.safe_load((PLATFORM / "releases.yaml").read_text())["releases"]
    return next(r for r in releases if r["name"] == name)


def test_terraform_installs_the_trainer_and_kueue_charts_pinned():
    # infra/modules/aws-platform/releases.tf makes one helm_release per entry, in every env root.
    trainer, kueue = release("kubeflow-trainer"), release("kueue")
    assert (trainer["repository"], trainer["chart"], trainer["version"]) == (
        "oci://ghcr.io/kubeflow/charts",
        "kubeflow-trainer",
        "2.2.0",
    )
    assert (kueue["repository"], kueue["chart"], kueue["version"]) == (
        "oci://registry.k8s.io/kueue/charts",
        "kueue",
        "0.14.1",
    )
    # The CRD excerpts name the same versions they were read at.
    crds = INFRA / "k8s" / "schemas" / "crds"
    assert "chart 2.2.0" in (crds / "trainer.kubeflow.org_trainjobs.yaml").read_text()
    assert "chart 0.14.1" in (crds / "kueue.x-k8s.io_clusterqueues.yaml").read_text()


def test_kueue_manages_trainjobs_only_when_they_name_a_queue():
    values = yaml.safe_load((PLATFORM / release("kueue")["values"]).read_text())
    config = yaml.safe_load(values["managerConfig"]["controllerManagerConfigYaml"])
    assert "trainer.kubeflow.org/trainjob" in config["integrations"]["frameworks"]
    assert config["manageJobsWithoutQueueName"] is False
    trainer = yaml.safe_load((PLATFORM / release("kubeflow-trainer")["values"]).read_text())
    assert trainer["runtimes"]["defaultEnabled"] is False  # aip renders its own runtime


@pytest.mark.parametrize("env", ENVS)
def test_the_gpu_quota_fits_the_environments_gpu_pool(env):
    settings = Repo(REPO_ROOT).platform.environments[env].cluster_training
    pool = terraform_env(env)
    assert settings.gpu_quota <= pool.max_size * pool.gpus_per_instance, (
        f"platform.yaml environments.{env}.cluster_training.gpu_quota ({settings.gpu_quota}) is more than "
        f"infra/envs/{env}'s gpu_pool ({pool.max_size} x {pool.gpus_per_instance} GPU)"
    )
    # One node's request must fit one of the pool's instances (g5.xlarge: 4 vCPU, 16 GiB; 2xlarge: 8, 32).
    vcpus = {"g5.xlarge": 4, "g5.2xlarge": 8}
    for instance in pool.instance_types:
        assert parse_quantity(settings.cpu_per_node) < vcpus[instance]
        assert parse_quantity(settings.memory_per_node) < vcpus[instance] * 4 * 2**30


@pytest.mark.slow
@pytest.mark.integration
def test_builtin_kinds_validate_with_kubernetes_validate_in_the_tools_venv():
    """Namespace and ServiceAccount with kubernetes-validate (strict), as `make infra-check` does."""
    if not (TOOLS_VENV / "bin" / "python").exists():
        subprocess.run([str(REPO_ROOT / "scripts" / "setup-tools.sh")], check=True, timeout=900)
    repo = Repo(REPO_ROOT)
    plan = plan_for(repo, "topic-classifier", "prod", commit="abc")
    text = yaml.safe_dump_all([*render_setup(plan.env, plan.settings, plan.image), render_job(plan)])
    code = (
        f"import json, sys; sys.path.insert(0, {str(INFRA / 'k8s' / 'schemas')!r}); import validate; "
        "print(json.dumps(validate.validate_manifests(sys.stdin.read())))"
    )
    proc = subprocess.run(
        [str(TOOLS_VENV / "bin" / "python"), "-c", code],
        input=text,
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
