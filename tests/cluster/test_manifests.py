"""The cluster-training manifests (pipelines/cluster/manifests.py): rendered from platform.yaml and
model.yaml, valid against the vendored Trainer and Kueue CRD schemas, queued and sized per environment."""

from __future__ import annotations

import copy
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.cluster import ClusterError, job_name, plan_for, render_job, render_setup
from pipelines.cluster.manifests import QUEUE_LABEL, RUNTIME, parse_quantity
from pipelines.config.errors import ConfigError
from pipelines.config.load import load_platform
from pipelines.repo.layout import Repo
from tests.support.manifests import k8s_script
from tests.support.repo import REPO_ROOT, edit_yaml

ENVS = ("dev", "staging", "prod")
MODELS = ("tumor-classifier", "topic-classifier")


def rendered(repo: Repo, model: str, env: str, **kw: Any) -> list[dict[str, Any]]:
    plan = plan_for(repo, model, env, commit="0123456789abcdef", **kw)
    return [*render_setup(plan.env, plan.settings, plan.image), render_job(plan)]


def by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in docs}


@pytest.fixture
def mini_repo(tmp_path: Path) -> Repo:
    """platform.yaml and the two models' model.yaml, editable (all plan_for reads)."""
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "platform.yaml", root / "platform.yaml")
    for model in MODELS:
        (root / "models" / model).mkdir()
        shutil.copy(REPO_ROOT / "models" / model / "model.yaml", root / "models" / model / "model.yaml")
    return Repo(root)


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("model", MODELS)
def test_every_rendered_object_validates_against_the_vendored_crd_schemas(model, env):
    validate = k8s_script("schemas/validate.py")
    docs = rendered(Repo(REPO_ROOT), model, env)
    text = yaml.safe_dump_all(docs)
    assert validate.validate_manifests(text, builtin=False) == []
    builtin_groups = validate.BUILTIN_GROUPS
    custom = {d["kind"] for d in docs if d["apiVersion"].rpartition("/")[0] not in builtin_groups}
    assert custom == {"ResourceFlavor", "ClusterQueue", "LocalQueue", "ClusterTrainingRuntime", "TrainJob"}
    # Each has a schema (an unknown custom kind is an error there, never a pass).
    assert {k for (_, k) in validate.custom_schemas()} >= custom


@pytest.mark.parametrize(
    ("kind", "change", "expected"),
    [
        ("TrainJob", lambda d: d["spec"].pop("runtimeRef"), "'runtimeRef' is a required property"),
        ("TrainJob", lambda d: d["spec"]["trainer"].update(numNodes="two"), "'two' is not of type 'integer'"),
        ("TrainJob", lambda d: d["spec"]["trainer"].update(gpus=1), "Additional properties are not allowed"),
        (
            "ClusterQueue",
            lambda d: d["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0].update(
                nominalQuota="lots"
            ),
            "'lots' does not match",
        ),
        ("ClusterQueue", lambda d: d["spec"].update(queueingStrategy="Random"), "'Random' is not one of"),
        ("LocalQueue", lambda d: d["spec"].update(clusterQueue="Not_A_Name"), "does not match"),
        (
            "ClusterTrainingRuntime",
            lambda d: d["spec"]["template"]["spec"]["replicatedJobs"][0].pop("template"),
            "'template' is a required property",
        ),
    ],
    ids=[
        "no-runtime",
        "nodes-not-int",
        "unknown-field",
        "bad-quota",
        "bad-strategy",
        "bad-queue",
        "no-template",
    ],
)
def test_a_broken_object_is_reported_with_its_kind_and_path(kind, change, expected):
    validate = k8s_script("schemas/validate.py")
    docs = copy.deepcopy(rendered(Repo(REPO_ROOT), "tumor-classifier", "dev"))
    change(by_kind(docs)[kind])
    errors = validate.validate_manifests(yaml.safe_dump_all(docs), builtin=False)
    assert any(e.startswith(kind) and expected in e for e in errors), errors


@pytest.mark.parametrize("env", ENVS)
def test_queue_label_and_quota_follow_platform_yaml_per_environment(env):
    repo = Repo(REPO_ROOT)
    settings = repo.platform.environments[env].cluster_training
    objs = by_kind(rendered(repo, "tumor-classifier", env))
    job = objs["TrainJob"]
    assert (
        job["metadata"]["labels"][QUEUE_LABEL]
        == settings.local_queue
        == objs["LocalQueue"]["metadata"]["name"]
    )
    assert job["metadata"]["namespace"] == objs["LocalQueue"]["metadata"]["namespace"] == settings.namespace
    assert job["spec"]["suspend"] is True  # Kueue resumes it on admission
    assert job["spec"]["runtimeRef"]["name"] == RUNTIME == objs["ClusterTrainingRuntime"]["metadata"]["name"]
    assert objs["LocalQueue"]["spec"]["clusterQueue"] == objs["ClusterQueue"]["metadata"]["name"]
    [group] = objs["ClusterQueue"]["spec"]["resourceGroups"]
    [flavor] = group["flavors"]
    assert flavor["name"] == objs["ResourceFlavor"]["metadata"]["name"] == "gpu-pool"
    quota = {r["name"]: r["nominalQuota"] for r in flavor["resources"]}
    assert quota == {
        "cpu": settings.cpu_quota,
        "memory": settings.memory_quota,
        "nvidia.com/gpu": settings.gpu_quota,
    }
    assert objs["ClusterQueue"]["spec"]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": settings.namespace
    }
    # The GPU pool as Karpenter labels and taints it (infra/k8s/platform/karpenter/nodepool-gpu.yaml).
    assert objs["ResourceFlavor"]["spec"]["nodeLabels"] == {"node-pool-kind": "gpu"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in objs["ResourceFlavor"][
        "spec"
    ]["tolerations"]


def test_the_environments_quotas_differ_as_platform_yaml_says():
    envs = Repo(REPO_ROOT).platform.environments
    assert [envs[e].cluster_training.gpu_quota for e in ENVS] == [1, 2, 4]


def test_the_job_takes_nodes_and_processes_from_model_yaml_and_runs_aip_train(mini_repo):
    edit_yaml(
        mini_repo.model_dir("topic-classifier") / "model.yaml",
        lambda d: (
            d.setdefault("environments", {})
            .setdefault("staging", {})
            .update(training={"nnodes": 2, "nproc_per_node": 1})
        ),
    )
    plan = plan_for(
        mini_repo, "topic-classifier", "staging", commit="abc", image="reg.example/img@sha256:" + "0" * 64
    )
    trainer = render_job(plan)["spec"]["trainer"]
    assert trainer["numNodes"] == 2 and trainer["numProcPerNode"] == 1
    assert trainer["image"] == "reg.example/img@sha256:" + "0" * 64
    assert trainer["resourcesPerNode"]["requests"] == {"cpu": "3", "memory": "12Gi", "nvidia.com/gpu": 1}
    assert "cpu" not in trainer["resourcesPerNode"]["limits"]
    shell, flag, script = trainer["command"]
    assert (shell, flag) == ("/bin/sh", "-c")
    prepare, train = script.split(" && exec ")
    # The pod fetches the model's dataset first (it starts with the image's checkout and no data).
    assert shlex.split(prepare) == ["aip", "data", "prepare", "chatterbot-topics", "--env", "staging"]
    cmd = shlex.split(train)
    assert cmd[:5] == ["aip", "train", "topic-classifier", "--env", "staging"]
    flags = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert flags == {
        "--nproc-per-node": "$PET_NPROC_PER_NODE",
        "--nnodes": "$PET_NNODES",
        "--node-rank": "$PET_NODE_RANK",
        "--rdzv-endpoint": "$PET_MASTER_ADDR:$PET_MASTER_PORT",
    }
    # What the pod's shell runs, with the variables the Trainer's torch plugin injects.
    pet = {
        "PET_NPROC_PER_NODE": "1",
        "PET_NNODES": "2",
        "PET_NODE_RANK": "1",
        "PET_MASTER_ADDR": "j-node-0-0.j",
        "PET_MASTER_PORT": "29400",
    }
    echoed = subprocess.run(
        ["/bin/sh", "-c", script.replace("aip ", "echo aip ")],
        env=pet,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert echoed[-8:] == [
        "--nproc-per-node",
        "1",
        "--nnodes",
        "2",
        "--node-rank",
        "1",
        "--rdzv-endpoint",
        "j-node-0-0.j:29400",
    ]
    env = {e["name"]: e for e in trainer["env"]}
    assert env["AIP_ENV"]["value"] == "staging"
    assert env["MLFLOW_TRACKING_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "aip-training",
        "key": "mlflow-password",
    }


def test_the_default_image_is_the_training_image_in_the_organisations_registry():
    repo = Repo(REPO_ROOT)
    plan = plan_for(repo, "tumor-classifier", "dev", commit="abc")
    assert plan.image == f"{repo.platform.organisation.image_registry}/ai-platform-training:latest"


def test_a_job_larger_than_its_queue_is_refused_naming_both_files(mini_repo):
    edit_yaml(
        mini_repo.model_dir("topic-classifier") / "model.yaml",
        lambda d: (
            d.setdefault("environments", {}).setdefault("dev", {}).update(training={"nproc_per_node": 2})
        ),
    )
    with pytest.raises(ClusterError) as err:
        plan_for(mini_repo, "topic-classifier", "dev", commit="abc")
    text = str(err.value)
    assert "models/topic-classifier/model.yaml environments.dev.training" in text
    assert "platform.yaml environments.dev.cluster_training.gpu_quota (1)" in text
    assert "2 nvidia.com/gpu" in text


def test_a_cpu_environment_asks_for_no_gpu_and_uses_the_cpu_pool(mini_repo):
    edit_yaml(
        mini_repo.platform_file,
        lambda d: d["environments"]["dev"]["cluster_training"].update(device="cpu", gpu_quota=0),
    )
    repo = Repo(mini_repo.root)
    objs = by_kind(rendered(repo, "tumor-classifier", "dev"))
    assert "nvidia.com/gpu" not in objs["TrainJob"]["spec"]["trainer"]["resourcesPerNode"]["requests"]
    assert objs["ResourceFlavor"]["metadata"]["name"] == "cpu-pool"
    assert objs["ResourceFlavor"]["spec"] == {"nodeLabels": {"node-pool-kind": "cpu"}}
    assert objs["ClusterQueue"]["spec"]["resourceGroups"][0]["coveredResources"] == ["cpu", "memory"]


def test_bad_cluster_training_settings_name_the_file_and_field(mini_repo):
    edit_yaml(
        mini_repo.platform_file,
        lambda d: d["environments"]["dev"]["cluster_training"].update(cpu_quota="lots"),
    )
    with pytest.raises(ConfigError) as err:
        load_platform(mini_repo.platform_file)
    assert "environments.dev.cluster_training.cpu_quota" in str(err.value)
    edit_yaml(mini_repo.platform_file, lambda d: d["environments"]["dev"].update(training="kubernetes"))
    with pytest.raises(ConfigError) as err:
        load_platform(mini_repo.platform_file)
    assert "environments.dev.training" in str(err.value)


@pytest.mark.parametrize(
    ("model", "commit", "expected"),
    [
        ("tumor-classifier", "d5bc4d0320abcdef-dirty", "tumor-classifier-d5bc4d0320"),
        ("topic-classifier", "unknown", "topic-classifier-unknown"),
        ("x" * 80, "0123456789", "x" * 52 + "-0123456789"),
        ("9lives", "abc", "j9lives-abc"),
    ],
)
def test_job_names_are_dns_labels_per_model_and_commit(model, commit, expected):
    name = job_name(model, commit)
    assert name == expected
    assert len(name) <= 63 and name[0].isalpha()


@pytest.mark.parametrize(("text", "value"), [("3", 3.0), ("500m", 0.5), ("12Gi", 12 * 2**30), ("1.5", 1.5)])
def test_quantities_compare_as_numbers(text, value):
    assert parse_quantity(text) == value


def test_a_name_that_is_not_a_dns_label_is_refused():
    with pytest.raises(ClusterError, match="a TrainJob name is a DNS label"):
        plan_for(Repo(REPO_ROOT), "tumor-classifier", "dev", commit="abc", name="Tumor_Job")


def test_a_bad_quantity_is_refused():
    with pytest.raises(ClusterError, match="not a Kubernetes quantity"):
        parse_quantity("12 GB")
