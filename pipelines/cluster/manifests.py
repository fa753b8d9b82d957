"""The objects of cluster training, as dicts ready for `kubectl apply` (docs/cluster-training.md).

Two groups, both rendered from platform.yaml's `environments.<env>.cluster_training`:
- setup (once per cluster, re-applied harmlessly): Namespace, ServiceAccount, the Kueue ResourceFlavor
  of the node pool, the ClusterQueue with the environment's quota, the LocalQueue, and the
  ClusterTrainingRuntime `aip-torch` (Kubeflow Trainer v2's torch plugin: it injects the PET_* torchrun
  variables into every node);
- the job: a `TrainJob` (trainer.kubeflow.org/v1alpha1) per model and commit, labelled with the
  LocalQueue so Kueue admits it (it is created suspended and resumed when the quota allows).

Why TrainJob rather than the v1 PyTorchJob: Trainer v2 is the maintained line (the v1 training
operator only gets fixes), one CRD covers every framework, Kueue integrates it directly, and the
runtime/job split keeps the pod's security settings in one reviewed object while a job carries only
what varies per model (image, nodes, processes, resources). The container runs the engine's own
commands: `aip data prepare DATASET --env ENV`, then `aip train MODEL --env ENV` given the node count,
rank and rendezvous from the operator's variables.

Pure functions: no cluster is needed to render; tests validate the output against the vendored CRD
schemas (infra/k8s/schemas).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.cluster.errors import ClusterError
from pipelines.config.platform import ClusterTraining

if TYPE_CHECKING:
    from pipelines.repo.layout import Repo

__all__ = ["RUNTIME", "ClusterPlan", "job_name", "parse_quantity", "plan_for", "render_job", "render_setup"]

TRAINER_API = "trainer.kubeflow.org/v1alpha1"
KUEUE_API = "kueue.x-k8s.io/v1beta1"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
RUNTIME = "aip-torch"  # the ClusterTrainingRuntime every job references
CONTAINER = "node"  # the torch plugin's trainer container (and replicated job) name
GPU = "nvidia.com/gpu"
IMAGE_NAME = "ai-platform-training"  # containers/training.Containerfile, as infra/k8s/tuning names it
IMAGE_UID = 10001  # the image's `aip` user
PART_OF = {"app.kubernetes.io/part-of": "ai-platform"}
# Node pools as infra/k8s/platform/karpenter labels and taints them.
POOLS: dict[str, dict[str, Any]] = {
    "gpu": {
        "nodeLabels": {"node-pool-kind": "gpu"},
        "tolerations": [{"key": GPU, "operator": "Exists", "effect": "NoSchedule"}],
    },
    "cpu": {"nodeLabels": {"node-pool-kind": "cpu"}},
}
_SUFFIXES = {
    "m": 0.001,
    "": 1.0,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}


def parse_quantity(text: str) -> float:
    """A Kubernetes quantity ("3", "500m", "12Gi") as a number, to compare requests with quotas."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?", text)
    if not match:
        raise ClusterError(f"not a Kubernetes quantity: {text!r} (expected e.g. 3, 500m, 12Gi)")
    return float(match.group(1)) * _SUFFIXES[match.group(2) or ""]


def job_name(model: str, commit: str) -> str:
    """`<model>-<commit[:10]>`: one TrainJob per model and commit, so a rerun of the workflow finds
    the job it already submitted instead of training again. A DNS label (the TrainJob's rule)."""
    suffix = re.sub(r"[^a-z0-9]", "", commit.lower())[:10] or "manual"
    stem = re.sub(r"[^a-z0-9-]", "-", model.lower()).strip("-")[: 62 - len(suffix)].strip("-")
    name = f"{stem}-{suffix}" if stem else f"job-{suffix}"
    return name if name[0].isalpha() else f"j{name}"[:63]


@dataclass(frozen=True)
class ClusterPlan:
    """One model's training job in one environment: everything the manifests are rendered from."""

    model: str
    dataset: str
    env: str
    name: str
    image: str
    nnodes: int
    nproc_per_node: int
    settings: ClusterTraining

    @property
    def gpus_per_node(self) -> int:
        """One GPU per torchrun process on the GPU pool; none on the CPU pool."""
        return self.nproc_per_node if self.settings.device == "gpu" else 0


def default_image(image_registry: str, settings: ClusterTraining) -> str:
    return settings.image or f"{image_registry}/{IMAGE_NAME}:latest"


def plan_for(
    repo: Repo, model: str, env: str, *, commit: str, image: str | None = None, name: str | None = None
) -> ClusterPlan:
    """Read platform.yaml and model.yaml; refuse a job its queue could never admit (it would wait
    forever, suspended), naming both files' fields."""
    if name is not None and not re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", name):
        raise ClusterError(f"--name {name!r}: a TrainJob name is a DNS label (a-z, 0-9, '-'; 63 at most)")
    env_name, environment = repo.environment(env)
    settings = environment.cluster_training
    config = repo.model(model)
    training = config.environment(env_name).training
    plan = ClusterPlan(
        model=model,
        dataset=config.dataset,
        env=env_name,
        name=name or job_name(model, commit),
        image=image or default_image(repo.platform.organisation.image_registry, settings),
        nnodes=training.nnodes,
        nproc_per_node=training.nproc_per_node,
        settings=settings,
    )
    check_fits(plan)
    return plan


def check_fits(plan: ClusterPlan) -> None:
    """The job's total request must fit the ClusterQueue's nominal quota, or Kueue never admits it."""
    s, n = plan.settings, plan.nnodes
    where = f"platform.yaml environments.{plan.env}.cluster_training"
    knobs = (
        f"models/{plan.model}/model.yaml environments.{plan.env}.training "
        f"(nnodes={n}, nproc_per_node={plan.nproc_per_node})"
    )
    wanted = [
        (GPU, plan.gpus_per_node * n, float(s.gpu_quota), "gpu_quota"),
        ("cpu", parse_quantity(s.cpu_per_node) * n, parse_quantity(s.cpu_quota), "cpu_quota"),
        ("memory", parse_quantity(s.memory_per_node) * n, parse_quantity(s.memory_quota), "memory_quota"),
    ]
    for resource, need, quota, field in wanted:
        if need > quota:
            raise ClusterError(
                f"{knobs} asks for {need:g} {resource} in all, more than {where}.{field} ({quota:g}): "
                f"Kueue would never admit the job; lower the knobs or raise the quota"
            )


def _meta(name: str, namespace: str | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {**PART_OF, **(labels or {})}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _flavor(settings: ClusterTraining) -> str:
    return f"{settings.device}-pool"


def render_setup(env: str, settings: ClusterTraining, image: str) -> list[dict[str, Any]]:
    """Namespace, ServiceAccount, ResourceFlavor, ClusterQueue, LocalQueue and the runtime."""
    ns = settings.namespace
    sa_meta = _meta("aip-training", ns)
    if settings.service_account_role_arn:
        sa_meta["annotations"] = {"eks.amazonaws.com/role-arn": settings.service_account_role_arn}
    covered = ["cpu", "memory"] + ([GPU] if settings.device == "gpu" else [])
    quota = {"cpu": settings.cpu_quota, "memory": settings.memory_quota, GPU: settings.gpu_quota}
    flavor = _flavor(settings)
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": _meta(ns, labels={"pod-security.kubernetes.io/enforce": "restricted"}),
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": sa_meta,
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": KUEUE_API,
            "kind": "ResourceFlavor",
            "metadata": _meta(flavor),
            "spec": POOLS[settings.device],
        },
        {
            "apiVersion": KUEUE_API,
            "kind": "ClusterQueue",
            "metadata": _meta(settings.cluster_queue, labels={"aip.platform/env": env}),
            "spec": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                "queueingStrategy": "BestEffortFIFO",
                "resourceGroups": [
                    {
                        "coveredResources": covered,
                        "flavors": [
                            {
                                "name": flavor,
                                "resources": [{"name": r, "nominalQuota": quota[r]} for r in covered],
                            }
                        ],
                    }
                ],
            },
        },
        {
            "apiVersion": KUEUE_API,
            "kind": "LocalQueue",
            "metadata": _meta(settings.local_queue, ns),
            "spec": {"clusterQueue": settings.cluster_queue},
        },
        *_submitter_rbac(ns),
        _runtime(image),
    ]


SUBMITTERS = "aip:trainjob-submitters"  # the Kubernetes group the deploy role's access entry must carry


def _submitter_rbac(ns: str) -> list[dict[str, Any]]:
    """What `aip cluster train --no-setup` needs in the training namespace, for the group SUBMITTERS:
    EKS access policies (`edit`) do not cover custom resources such as TrainJobs, so the deploy
    role gets them through this Role (its access entry names the group; docs/cluster-training.md)."""
    rules = [
        {
            "apiGroups": ["trainer.kubeflow.org"],
            "resources": ["trainjobs"],
            "verbs": ["create", "get", "list", "watch"],
        },
        {"apiGroups": ["kueue.x-k8s.io"], "resources": ["workloads"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods", "pods/log", "events"], "verbs": ["get", "list", "watch"]},
    ]
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta("aip-trainjob-submitter", ns),
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta("aip-trainjob-submitter", ns),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "aip-trainjob-submitter",
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": SUBMITTERS}],
        },
    ]


def _runtime(image: str) -> dict[str, Any]:
    """The torch runtime: one replicated job `node`; the pod's security settings live here, once."""
    pod = {
        "serviceAccountName": "aip-training",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": IMAGE_UID,
            "runAsGroup": IMAGE_UID,
            "fsGroup": IMAGE_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": CONTAINER,
                "image": image,
                "env": [{"name": "HOME", "value": "/tmp"}],
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                # DVC, MLflow and checkpoints write under /tmp; NCCL and DataLoader workers need /dev/shm.
                "volumeMounts": [
                    {"name": "scratch", "mountPath": "/tmp"},
                    {"name": "dshm", "mountPath": "/dev/shm"},
                ],
            }
        ],
        "volumes": [{"name": "scratch", "emptyDir": {}}, {"name": "dshm", "emptyDir": {"medium": "Memory"}}],
    }
    return {
        "apiVersion": TRAINER_API,
        "kind": "ClusterTrainingRuntime",
        "metadata": _meta(RUNTIME, labels={"trainer.kubeflow.org/framework": "torch"}),
        "spec": {
            "mlPolicy": {"numNodes": 1, "torch": {}},
            "template": {
                "spec": {
                    "replicatedJobs": [
                        {
                            "name": CONTAINER,
                            "template": {
                                "metadata": {
                                    "labels": {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}
                                },
                                "spec": {"template": {"spec": pod}},
                            },
                        }
                    ]
                }
            },
        },
    }


def train_args(plan: ClusterPlan) -> list[str]:
    """`aip train` with the operator's torchrun variables (shell references, expanded in the pod): the
    node count, this pod's rank and node 0's address (a headless Service the JobSet creates)."""
    return [
        "aip",
        "train",
        plan.model,
        "--env",
        plan.env,
        "--nproc-per-node",
        "$PET_NPROC_PER_NODE",
        "--nnodes",
        "$PET_NNODES",
        "--node-rank",
        "$PET_NODE_RANK",
        "--rdzv-endpoint",
        "$PET_MASTER_ADDR:$PET_MASTER_PORT",
    ]


def trainer_command(plan: ClusterPlan) -> list[str]:
    """The pod's command: fetch the model's dataset from the environment's DVC remote (`aip data
    prepare`, as the runner does before `aip train`; a pod starts with the image's checkout and no
    data), then `exec aip train` with the torchrun variables. Names are quoted for the shell."""

    def word(arg: str) -> str:
        return f'"{arg}"' if arg.startswith("$") else shlex.quote(arg)

    prepare = ["aip", "data", "prepare", plan.dataset, "--env", plan.env]
    script = " ".join(map(shlex.quote, prepare)) + " && exec " + " ".join(map(word, train_args(plan)))
    return ["/bin/sh", "-c", script]


def render_job(plan: ClusterPlan) -> dict[str, Any]:
    """The TrainJob of one model: queued by label, suspended until Kueue admits it."""
    s = plan.settings
    resources: dict[str, Any] = {"cpu": s.cpu_per_node, "memory": s.memory_per_node}
    if plan.gpus_per_node:
        resources[GPU] = plan.gpus_per_node
    secret = s.credentials_secret
    env = [
        {"name": "AIP_ENV", "value": plan.env},
        {
            "name": "MLFLOW_TRACKING_USERNAME",
            "valueFrom": {"secretKeyRef": {"name": secret, "key": "mlflow-username"}},
        },
        {
            "name": "MLFLOW_TRACKING_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": secret, "key": "mlflow-password"}},
        },
    ]
    labels = {QUEUE_LABEL: s.local_queue, "aip.platform/model": plan.model, "aip.platform/env": plan.env}
    return {
        "apiVersion": TRAINER_API,
        "kind": "TrainJob",
        "metadata": _meta(plan.name, s.namespace, labels),
        "spec": {
            "runtimeRef": {
                "apiGroup": "trainer.kubeflow.org",
                "kind": "ClusterTrainingRuntime",
                "name": RUNTIME,
            },
            "suspend": True,
            "activeDeadlineSeconds": s.timeout_seconds,
            "trainer": {
                "image": plan.image,
                "command": trainer_command(plan),
                "numNodes": plan.nnodes,
                "numProcPerNode": plan.nproc_per_node,
                "resourcesPerNode": {
                    "requests": resources,
                    "limits": {k: v for k, v in resources.items() if k != "cpu"},
                },
                "env": env,
            },
        },
    }
