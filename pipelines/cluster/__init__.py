"""Training on the cluster (docs/cluster-training.md): a Kubeflow Trainer `TrainJob` per model,
queued through Kueue, rendered from platform.yaml and model.yaml, submitted and watched with kubectl.

- `manifests`: the objects (queue, runtime, job) as plain dicts; pure, so tests render and validate them.
- `kube`: kubectl (apply, get) against the current context, the way the deploy backend talks to the cluster.
- `watch`: reading a TrainJob's conditions and waiting for it within a bounded time.
"""

from pipelines.cluster.errors import ClusterError, JobFailed, JobTimedOut
from pipelines.cluster.manifests import ClusterPlan, job_name, plan_for, render_job, render_setup

__all__ = [
    "ClusterError",
    "ClusterPlan",
    "JobFailed",
    "JobTimedOut",
    "job_name",
    "plan_for",
    "render_job",
    "render_setup",
]
