"""`aip cluster ...`: training as a Kubeflow Trainer job queued by Kueue (parsing and printing only;
the work is pipelines/cluster, docs/cluster-training.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.cli.errors import EXIT_FAILED

if TYPE_CHECKING:
    from pipelines.cluster import ClusterPlan


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 (got {text})")
    return value


def _job_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model name (a folder under models/)")
    p.add_argument("--env", required=True, help="platform.yaml environment whose cluster_training to use")
    p.add_argument(
        "--image",
        metavar="REF",
        help="training image, best by digest (default: cluster_training.image, else "
        "<image_registry>/ai-platform-training:latest)",
    )
    p.add_argument("--name", help="TrainJob name (default: <model>-<first 10 characters of HEAD's sha>)")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `aip cluster` on the top-level subparsers (called from pipelines/cli/main.py)."""
    cluster = sub.add_parser(
        "cluster",
        help="train on the cluster: Kubeflow Trainer TrainJob queued by Kueue (docs/cluster-training.md)",
        description="Render, submit and watch a model's training job on the environment's Kubernetes "
        "cluster. The job runs `aip train MODEL --env ENV` in the training image on "
        "environments.<env>.training's nodes and processes (model.yaml); Kueue admits it within "
        "platform.yaml's cluster_training quota. Docs: docs/cluster-training.md",
    )
    c_sub = cluster.add_subparsers(dest="cluster_command", required=True, metavar="COMMAND")

    p = c_sub.add_parser(
        "render",
        help="print (or write) the queue, runtime and TrainJob manifests; no cluster needed",
        description="Render the training setup (Namespace, ServiceAccount, Kueue ResourceFlavor, "
        "ClusterQueue, LocalQueue, ClusterTrainingRuntime) and the model's TrainJob as YAML.",
    )
    _job_options(p)
    p.add_argument("--out", type=Path, metavar="FILE", help="write the YAML here instead of stdout")
    p.set_defaults(handler="pipelines.cli.cluster_commands:cmd_render")

    p = c_sub.add_parser(
        "train",
        help="submit the model's TrainJob (after its queue and runtime) and wait for it",
        description="kubectl apply (server-side, current kubeconfig context) of the training setup and the "
        "model's TrainJob, then wait until it completes, printing its progress. Exits non-zero when the "
        "job fails, or is still queued or running after --timeout, with the job's conditions. A job of "
        "the same name (same model and commit) is watched, not submitted again.",
    )
    _job_options(p)
    p.add_argument(
        "--timeout",
        type=_positive,
        metavar="SECONDS",
        help="give up waiting after this (default: cluster_training.timeout_seconds)",
    )
    p.add_argument(
        "--poll", type=_positive, default=15.0, metavar="SECONDS", help="seconds between status reads"
    )
    p.add_argument("--no-wait", action="store_true", help="submit and return without waiting")
    p.add_argument(
        "--no-setup",
        action="store_true",
        help="apply only the TrainJob (`aip cluster setup` put the rest in place; what deploy.yml does)",
    )
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.set_defaults(handler="pipelines.cli.cluster_commands:cmd_train")

    p = c_sub.add_parser(
        "setup",
        help="apply the environment's training setup: namespace, queue, quota, runtime, submitter Role",
        description="kubectl apply (server-side) of the objects every job needs: Namespace, ServiceAccount, "
        "the submitters' Role and RoleBinding, Kueue ResourceFlavor, ClusterQueue (the quota) and "
        "LocalQueue, and the ClusterTrainingRuntime aip-torch. Cluster-scoped kinds: run it with an admin "
        "context after Terraform installed the operators, and again when cluster_training changes.",
    )
    p.add_argument("--env", required=True, help="platform.yaml environment whose cluster_training to use")
    p.add_argument("--image", metavar="REF", help="the runtime's default image (jobs set their own)")
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.set_defaults(handler="pipelines.cli.cluster_commands:cmd_setup")

    p = c_sub.add_parser(
        "where",
        help="print where an environment trains (runner or cluster); a GitHub Actions output",
        description="Print `training=runner` or `training=cluster` (platform.yaml "
        "environments.<env>.training); in GitHub Actions also the step output `training`, which "
        "deploy.yml branches on.",
    )
    p.add_argument("--env", required=True, help="platform.yaml environment")
    p.set_defaults(handler="pipelines.cli.cluster_commands:cmd_where")


def _plan(args: argparse.Namespace) -> ClusterPlan:
    from pipelines.cluster import plan_for
    from pipelines.git import head_commit
    from pipelines.repo.layout import Repo

    repo = Repo.discover()
    commit = head_commit(repo.root) if args.name is None else ""
    return plan_for(repo, args.model, args.env, commit=commit, image=args.image, name=args.name)


def render_yaml(plan: ClusterPlan) -> str:
    import yaml

    from pipelines.cluster import render_job, render_setup

    docs = [*render_setup(plan.env, plan.settings, plan.image), render_job(plan)]
    text: str = yaml.safe_dump_all(docs, sort_keys=False, explicit_start=True)
    return text


def cmd_render(args: argparse.Namespace) -> int:
    plan = _plan(args)
    text = render_yaml(plan)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.out)  # never a half-written file
    print(f"wrote {args.out} (setup and trainjob/{plan.name})")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from pipelines.cluster.kube import Kubectl
    from pipelines.cluster.submit import SubmitOptions, submit

    plan = _plan(args)
    timeout = args.timeout or float(plan.settings.timeout_seconds)
    gpus = f", {plan.gpus_per_node} GPU each" if plan.gpus_per_node else ""
    print(
        f"trainjob/{plan.name}: {plan.model} in {plan.env}, {plan.nnodes} node(s) x {plan.nproc_per_node} "
        f"process(es){gpus}, image {plan.image}, "
        f"queue {plan.settings.local_queue} ({plan.settings.namespace})"
    )
    options = SubmitOptions(
        setup=not args.no_setup, wait=not args.no_wait, timeout_s=timeout, poll_s=args.poll
    )
    state = submit(
        plan, Kubectl(context=args.context), options, progress=lambda line: print(line, flush=True)
    )
    if args.no_wait:
        print(f"trainjob/{plan.name}: {state.phase}; not waiting (--no-wait)")
        return 0
    if state.phase != "complete":  # submit raises on failure and timeout; this is a guard
        print(f"error: trainjob/{plan.name} ended {state.phase}", file=sys.stderr)
        return EXIT_FAILED
    print(f"trainjob/{plan.name}: complete")
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    from pipelines.cluster import render_setup
    from pipelines.cluster.kube import Kubectl
    from pipelines.cluster.manifests import default_image
    from pipelines.repo.layout import Repo

    repo = Repo.discover()
    env_name, environment = repo.environment(args.env)
    settings = environment.cluster_training
    image = args.image or default_image(repo.platform.organisation.image_registry, settings)
    for line in Kubectl(context=args.context).apply(
        render_setup(env_name, settings, image), "apply the training setup"
    ):
        print(f"  {line}")
    print(f"training setup of {env_name} applied: queue {settings.local_queue} in {settings.namespace}")
    return 0


def cmd_where(args: argparse.Namespace) -> int:
    from pipelines.gitops.actions import set_output
    from pipelines.repo.layout import Repo

    env_name, environment = Repo.discover().environment(args.env)
    print(f"{env_name} trains on: {environment.training}")
    set_output("training", environment.training)
    return 0
