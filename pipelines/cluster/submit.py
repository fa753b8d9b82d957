"""Submit one model's TrainJob (after its queue and runtime) and wait for it.

A job is named after the model and the commit (manifests.job_name): when the workflow is rerun, the
job already on the cluster is watched again rather than submitted twice (a TrainJob's spec is
immutable, and Kueue owns `spec.suspend` once it has admitted it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipelines.cluster.errors import ClusterError
from pipelines.cluster.kube import Kubectl
from pipelines.cluster.manifests import ClusterPlan, render_job, render_setup
from pipelines.cluster.watch import JobState, job_state, wait_for_job

__all__ = ["SubmitOptions", "apply_setup", "submit"]

TRAINJOB = "trainjobs.trainer.kubeflow.org"


@dataclass(frozen=True)
class SubmitOptions:
    setup: bool = True  # apply namespace, service account, Kueue objects and the runtime first
    wait: bool = True
    timeout_s: float = 21600.0
    poll_s: float = 15.0


def apply_setup(plan: ClusterPlan, kubectl: Kubectl, progress: Callable[[str], None] = print) -> None:
    """Namespace, service account, submitter Role, Kueue objects and the runtime: cluster-scoped kinds,
    so an admin context applies them (`aip cluster setup`), not the deploy role."""
    for line in kubectl.apply(render_setup(plan.env, plan.settings, plan.image), "apply the training setup"):
        progress(f"  {line}")


def submit(
    plan: ClusterPlan,
    kubectl: Kubectl,
    options: SubmitOptions,
    progress: Callable[[str], None] = print,
) -> JobState:
    """Apply, then (with `wait`) poll to the end. Returns the last state seen; raises ClusterError,
    JobFailed or JobTimedOut (the CLI exits non-zero on each)."""
    ns = plan.settings.namespace
    if options.setup:
        for line in kubectl.apply(
            render_setup(plan.env, plan.settings, plan.image), "apply the training setup"
        ):
            progress(f"  {line}")
    existing = kubectl.get(TRAINJOB, plan.name, ns)
    if existing is None:
        for line in kubectl.apply([render_job(plan)], f"submit trainjob/{plan.name}"):
            progress(f"  {line}")
        progress(f"submitted trainjob/{plan.name} to queue {plan.settings.local_queue} in {ns}")
    else:
        progress(
            f"trainjob/{plan.name} already exists in {ns} (this commit was submitted before): watching it"
        )
    if not options.wait:
        return job_state(existing) if existing is not None else job_state({"spec": {"suspend": True}})

    def get() -> dict[str, Any]:
        obj = kubectl.get(TRAINJOB, plan.name, ns)
        if obj is None:
            raise ClusterError(f"trainjob/{plan.name} disappeared from {ns} while waiting (deleted by hand?)")
        return obj

    hint = (
        f"\n  look: kubectl -n {ns} describe trainjob {plan.name}; kubectl -n {ns} get workloads; "
        f"kubectl -n {ns} logs -l jobset.sigs.k8s.io/jobset-name={plan.name} --tail=100"
    )
    return wait_for_job(
        get,
        name=plan.name,
        timeout_s=options.timeout_s,
        poll_s=options.poll_s,
        progress=progress,
        hint=hint,
    )
